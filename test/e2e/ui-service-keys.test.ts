/**
 * The API-key page's service-account section in a real browser: an admin creates a key for
 * `zot-ci` with a group and a 7-day expiry, sees it once, sees it listed for all users with its
 * group and marked "Expires soon", and the key works; a user who is not an admin gets no such
 * section. No script error, CSP violation or foreign request on the way.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, type OpenedPage } from '../support/browser.js';
import { startBerth, type RunningServer } from '../support/server.js';

const TIMEOUT = { timeout: 180_000 };
const USERS = { admin: 'admin-secret-1', alice: 'alice-secret-1' } as const;
type User = keyof typeof USERS;

describe('web UI: service-account keys for admins', () => {
  let server: RunningServer;
  let browser: Browser;
  let work: string;
  const opened: OpenedPage[] = [];

  const signIn = async (page: Page, user: User): Promise<void> => {
    await page.goto(`${server.url}/login?next=${encodeURIComponent('/user/apikey')}`);
    await page.getByLabel('User name', { exact: true }).fill(user);
    await page.getByLabel('Password', { exact: true }).fill(USERS[user]);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('#current-user', { hasText: user }).waitFor();
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-ui-keys-'));
    const htpasswd = path.join(work, 'htpasswd');
    await writeFile(
      htpasswd,
      Object.entries(USERS)
        .map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4)}`)
        .join('\n') + '\n',
    );
    server = await startBerth({
      config: {
        http: {
          auth: { htpasswd: { path: htpasswd }, apikey: true },
          accessControl: {
            repositories: {
              'ci/**': {
                policies: [{ groups: ['artifact-workloads'], actions: ['read', 'create', 'update'] }],
              },
            },
            adminPolicy: { users: ['admin'], actions: ['read', 'create', 'update', 'delete'] },
          },
        },
        extensions: { ui: { enable: true } },
      },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const o of opened) await o.context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('lets an admin create a key for zot-ci with a group, marked as expiring soon', TIMEOUT, async () => {
    const o = await openPage(browser, server.url);
    opened.push(o);
    const { page, problems } = o;
    await signIn(page, 'admin');
    await page.getByRole('heading', { name: 'Service-account keys (admins)' }).waitFor();
    await page.getByLabel('User', { exact: true }).fill('zot-ci');
    await page.getByLabel('Groups (comma-separated)').fill('artifact-workloads');
    await page.getByLabel('Service key label').fill('ci');
    await page.getByLabel('Service key expires').selectOption('7');
    await page.getByRole('button', { name: 'Create service key' }).click();
    const field = page.getByRole('textbox', { name: 'new service-account key' });
    await field.waitFor();
    const key = await field.inputValue();
    assert.match(key, /^zak_[0-9a-f]{32}$/);
    const row = page.locator('#all-key-list tbody tr', { hasText: 'zot-ci' });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /artifact-workloads/);
    assert.match(text, /Expires soon/);
    await screenshot(page, 'api-keys-service-accounts');
    const upload = await fetch(`${server.url}/v2/ci/app/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`zot-ci:${key}`).toString('base64')}` },
    });
    assert.equal(upload.status, 202, 'the key carries the group that may push to ci/**');
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.consoleErrors, []);
    assert.deepEqual(problems.foreignRequests, []);
    assert.deepEqual(problems.failedRequests, []);
  });

  it('shows no service-account section to a user who is not an admin', TIMEOUT, async () => {
    const o = await openPage(browser, server.url);
    opened.push(o);
    await signIn(o.page, 'alice');
    await o.page.getByRole('heading', { level: 2, name: 'Your keys' }).waitFor();
    assert.equal(await o.page.getByRole('heading', { name: 'Service-account keys (admins)' }).count(), 0);
  });
});
