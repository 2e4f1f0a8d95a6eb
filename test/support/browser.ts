/**
 * A real browser for the UI tests: Debian's Chromium (`/usr/bin/chromium`, package `chromium`)
 * driven by playwright-core. Playwright never downloads a browser here; a missing Chromium fails the
 * test with the package to install.
 *
 * Each page opened through {@link openPage} records what would betray a broken UI: uncaught
 * errors, console errors (Content-Security-Policy violations are reported there), failed requests
 * and any request to another origin (the UI must work offline, with nothing from a CDN).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import { requireCommand } from './clients.js';
import { PROJECT_ROOT } from './server.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Headless, sandbox-free (containers), and quiet: no update checks or other background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Where screenshots go: a folder `.gitignore` excludes, for a person to look at after a run. */
export const SCREENSHOT_DIR = path.join(PROJECT_ROOT, 'test-output', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  requireCommand(CHROMIUM);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Problems a page ran into; a healthy UI leaves every list empty. */
export interface PageProblems {
  errors: string[];
  consoleErrors: string[];
  failedRequests: string[];
  foreignRequests: string[];
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
}

/** Console errors that are the expected outcome of a test step, not a broken UI. */
const EXPECTED_CONSOLE = [/Failed to load resource: the server responded with a status of (401|403|404)/];

/**
 * A new browser context (its own cookies) and page, watching for problems. `origin` is the
 * registry's; requests anywhere else are recorded as foreign (an OpenID provider may be allowed
 * through `allowedOrigins`).
 */
export async function openPage(
  browser: Browser,
  origin: string,
  options: BrowserContextOptions & { allowedOrigins?: string[] } = {},
): Promise<OpenedPage> {
  const { allowedOrigins = [], ...contextOptions } = options;
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...contextOptions });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] };
  const allowed = new Set([origin, ...allowedOrigins].map((o) => new URL(o).origin));
  page.on('pageerror', (err) => problems.errors.push(err.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (!EXPECTED_CONSOLE.some((pattern) => pattern.test(text))) problems.consoleErrors.push(text);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return;
    if (!allowed.has(new URL(url).origin)) problems.foreignRequests.push(url);
  });
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? 'failed';
    // A fetch the UI cancelled on purpose (the filter changed) is not a failure.
    if (failure.includes('ERR_ABORTED')) return;
    problems.failedRequests.push(`${request.method()} ${request.url()}: ${failure}`);
  });
  return { context, page, problems };
}

/** Saves a full-page screenshot as `test-output/screenshots/<name>.png`; returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A phone-sized context: narrow viewport, touch, a mobile user agent. */
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};
