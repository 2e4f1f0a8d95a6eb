/**
 * The sign-in page's `next` parameter in a real browser (issue 11 item 8): browsers drop tab, CR
 * and LF from URLs, so `/\t/evil.example/` becomes `//evil.example/`, another site. The UI's check
 * must refuse control characters as the server's `callback_ui` check does, and "Continue as guest"
 * must stay on the registry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, type OpenedPage } from '../support/browser.js';
import { startBerth, type RunningServer } from '../support/server.js';

describe('the sign-in page keeps `next` on this site', () => {
  let server: RunningServer;
  let browser: Browser;
  const opened: OpenedPage[] = [];

  before(async () => {
    server = await startBerth({
      config: {
        http: { accessControl: { repositories: { '**': { anonymousPolicy: ['read'] } } } },
        extensions: { ui: { enable: true } },
      },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const o of opened) await o.context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  for (const next of [
    '/%09/evil.example/',
    '/%0a/evil.example/',
    '/%0d/evil.example/',
    '/%0d%0a/evil.example/x',
  ]) {
    it(`"Continue as guest" with next=${next} stays on the registry`, { timeout: 120_000 }, async () => {
      const o = await openPage(browser, server.url);
      opened.push(o);
      // Never let the browser reach out, whatever the page does.
      await o.context.route(/^(?!http:\/\/127\.0\.0\.1)/, (route) => route.abort());
      await o.page.goto(`${server.url}/login?next=${next}`);
      const guest = o.page.locator('#continue-as-guest');
      const href = await guest.evaluate((a) => (a as unknown as { href: string }).href);
      assert.equal(new URL(href).origin, server.url, `the link points to ${href}`);
      await guest.click();
      await o.page.waitForLoadState();
      assert.equal(new URL(o.page.url()).origin, server.url, `the browser went to ${o.page.url()}`);
      assert.deepEqual(o.problems.foreignRequests, []);
    });
  }
});
