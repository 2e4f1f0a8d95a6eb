/**
 * The web UI in a real browser (Chromium through playwright-core) against a real Berth process
 * with htpasswd users and an access policy: anonymous browsing, repositories hidden from viewers
 * who may not read them, password sign-in and sign-out, keyboard-only use, deleting a tag, the
 * API key page, phone-sized screens, and the security headers. Every test also checks that the
 * pages raised no script error or CSP violation and fetched nothing from another origin.
 * Screenshots land in `test-output/screenshots/`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { Browser, Page } from 'playwright-core';
import {
  launchBrowser,
  openPage,
  PHONE,
  screenshot,
  type OpenedPage,
  type PageProblems,
} from '../support/browser.js';
import { listTags, makeArtifact, makeImage, makeIndex, pushContent } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

const TIMEOUT = { timeout: 180_000 };
const USERS = { admin: 'admin-secret-1', alice: 'alice-secret-1', bob: 'bob-secret-1' } as const;
type User = keyof typeof USERS;
const FILLERS = 55;

function basic(user: User): string {
  return `Basic ${Buffer.from(`${user}:${USERS[user]}`).toString('base64')}`;
}

/** Evaluates a JavaScript expression in the page (written as text: the tests compile without DOM types). */
function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate<T>(expression);
}

function assertHealthy(problems: PageProblems, what: string): void {
  assert.deepEqual(problems.errors, [], `${what}: script errors`);
  assert.deepEqual(problems.consoleErrors, [], `${what}: console errors (CSP violations show up here)`);
  assert.deepEqual(problems.foreignRequests, [], `${what}: requests to other origins`);
  assert.deepEqual(problems.failedRequests, [], `${what}: failed requests`);
}

describe('web UI in a browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let secrets: string;
  const opened: OpenedPage[] = [];

  const open = async (options: Parameters<typeof openPage>[2] = {}): Promise<OpenedPage> => {
    const o = await openPage(browser, server.url, options);
    opened.push(o);
    return o;
  };

  /** Signs in through the sign-in page's password form and waits for the header to show the user. */
  const signIn = async (page: Page, user: User, next = '/home'): Promise<void> => {
    await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('User name', { exact: true }).fill(user);
    await page.getByLabel('Password', { exact: true }).fill(USERS[user]);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('#current-user', { hasText: user }).waitFor();
  };

  const api = async (
    pathAndQuery: string,
    user?: User,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${server.url}/_berth/ui/api/${pathAndQuery}`, {
      headers: { 'X-ZOT-API-CLIENT': 'zot-ui', ...(user ? { Authorization: basic(user) } : {}) },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    secrets = await mkdtemp(path.join(tmpdir(), 'e2e-ui-'));
    const htpasswd = path.join(secrets, 'htpasswd');
    // Cost 4: bcrypt's cost is the operator's choice; the tests need no slow hashing.
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
            groups: { 'vault-team': { users: ['alice'] } },
            repositories: {
              '**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] },
              'secret/**': { policies: [{ groups: ['vault-team'], actions: ['read'] }] },
            },
            adminPolicy: { users: ['admin'], actions: ['read', 'create', 'update', 'delete'] },
          },
        },
        extensions: { ui: { enable: true } },
      },
    });
    const as = { headers: { Authorization: basic('admin') } };
    const web1 = makeImage({ layerSizes: [4096, 150_000] });
    await pushContent(server.url, 'public/web', web1, 'v1', as);
    await pushContent(server.url, 'public/web', makeImage({ layerSizes: [2048] }), 'v2', as);
    await pushContent(server.url, 'public/web', makeImage({ layerSizes: [1024] }), 'latest', as);
    await pushContent(
      server.url,
      'public/web',
      makeArtifact({
        subject: web1.manifest,
        artifactType: 'application/spdx+json',
        payload: '{"spdxVersion":"SPDX-2.3"}',
        payloadMediaType: 'application/spdx+json',
      }),
      undefined,
      as,
    );
    const multi = makeIndex({
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    });
    await pushContent(server.url, 'public/multi', multi, '1.0', as);
    await pushContent(
      server.url,
      'public/multi',
      makeArtifact({
        subject: multi.manifest,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      }),
      undefined,
      as,
    );
    await pushContent(server.url, 'secret/vault', makeImage(), '1.0', as);
    for (let i = 0; i < FILLERS; i++) {
      await pushContent(
        server.url,
        `public/filler-${String(i).padStart(2, '0')}`,
        makeImage({ layerSizes: [256 + i] }),
        `t${i}`,
        as,
      );
    }
    browser = await launchBrowser();
  });

  after(async () => {
    for (const o of opened) await o.context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    if (secrets !== undefined) await rm(secrets, { recursive: true, force: true });
  });

  it(
    'lets an anonymous visitor browse repositories, a repository, an image and an index',
    TIMEOUT,
    async () => {
      const { page, problems } = await open();
      await page.goto(`${server.url}/home`);
      await page.locator('#repo-results table').waitFor();
      const visible = FILLERS + 2;
      assert.match(
        (await page.locator('#repo-count').textContent()) ?? '',
        new RegExp(`1–50 of ${visible} repositories`),
      );
      assert.equal(await page.locator('#repo-results a.row-link').count(), 50);
      assert.equal(await page.getByRole('navigation', { name: 'Pages' }).getByText('Page 1 of 2').count(), 1);
      assert.equal(await page.getByRole('link', { name: 'secret/vault' }).count(), 0);
      await page.getByRole('button', { name: 'Next page' }).click();
      await page.locator('#repo-results a.row-link', { hasText: 'public/web' }).waitFor();
      assert.equal(await page.locator('#repo-results a.row-link').count(), visible - 50);
      assert.match(page.url(), /page=2/);
      await screenshot(page, 'repositories-anonymous');

      await page.locator('#repo-filter').fill('public/w');
      await page.locator('#repo-results a.row-link').first().filter({ hasText: 'public/web' }).waitFor();
      assert.equal(await page.locator('#repo-results a.row-link').count(), 1);
      const row = page.locator('#repo-results tbody tr').first();
      assert.match((await row.textContent()) ?? '', /latest/);
      assert.match((await row.textContent()) ?? '', /linux\/amd64/);
      await page.getByRole('link', { name: 'public/web' }).click();

      await page.getByRole('heading', { level: 1, name: 'public/web' }).waitFor();
      const tags = await page.locator('#tag-results tbody th a').allTextContents();
      assert.deepEqual([...tags].sort(), ['latest', 'v1', 'v2']);
      assert.equal(
        await page.locator('.pull-refs input').first().inputValue(),
        `${server.host}/public/web:latest`,
      );
      assert.equal(
        await page.getByRole('button', { name: /^Delete tag/ }).count(),
        0,
        'anonymous visitors cannot delete',
      );
      await screenshot(page, 'repository');

      await page.getByRole('link', { name: 'v1', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: 'public/web:v1' }).waitFor();
      assert.equal(await page.locator('.table-layers tbody tr').count(), 2);
      assert.match((await page.locator('#labels + table').textContent()) ?? '', /org\.berth\.fixture/);
      assert.equal(await page.locator('.table-history tbody tr').count(), 2);
      assert.match((await page.locator('.referrer-group h3').textContent()) ?? '', /SBOMs \(1\)/);
      assert.match((await page.locator('#manifest ~ pre.json').textContent()) ?? '', /"schemaVersion": 2/);
      assert.match((await page.locator('#config ~ pre.json').textContent()) ?? '', /"architecture": "amd64"/);
      const pulls = await Promise.all(
        (await page.locator('.pull-refs input').all()).map((input) => input.inputValue()),
      );
      assert.equal(pulls[0], `${server.host}/public/web:v1`);
      assert.match(
        pulls[1] ?? '',
        new RegExp(`^${server.host.replace(/\./g, '\\.')}/public/web@sha256:[0-9a-f]{64}$`),
      );
      await screenshot(page, 'image');

      // The SBOM, by digest: its subject links back.
      await page.locator('.table-referrers a').first().click();
      await page.getByText('This artifact refers to').waitFor();

      await page.goto(`${server.url}/image/public%2Fmulti/tag/1.0`);
      await page.locator('.table-platforms').waitFor();
      const platforms = await page.locator('.table-platforms tbody th').allTextContents();
      assert.deepEqual(platforms, ['linux/amd64', 'linux/arm64/v8']);
      assert.match((await page.locator('.referrer-group h3').textContent()) ?? '', /Signatures \(1\)/);
      await screenshot(page, 'image-index');
      assertHealthy(problems, 'anonymous browsing');
    },
  );

  it('never shows a repository to a viewer who may not read it', TIMEOUT, async () => {
    for (const user of [undefined, 'bob'] as const) {
      const who = user ?? 'anonymous';
      const list = await api('repositories?q=secret', user);
      assert.equal(list.status, 200, who);
      assert.equal(list.body.total, 0, `${who} sees no secret repository`);
      const all = await api('repositories?perPage=100', user);
      assert.ok(!(all.body.items as { name: string }[]).some((r) => r.name.startsWith('secret/')), who);
      assert.equal((await api('repository?name=secret/vault', user)).status, 404, who);
      assert.equal((await api('image?name=secret/vault&reference=1.0', user)).status, 404, who);
      // A repository that does not exist answers exactly the same.
      assert.equal((await api('repository?name=secret/nothing-here', user)).status, 404, who);
    }
    const alice = await api('repositories?q=secret', 'alice');
    assert.deepEqual(
      (alice.body.items as { name: string }[]).map((r) => r.name),
      ['secret/vault'],
    );

    const anonymous = await open();
    await anonymous.page.goto(`${server.url}/image/secret%2Fvault`);
    await anonymous.page.getByRole('heading', { name: 'Not found' }).waitFor();
    await anonymous.page.goto(`${server.url}/image/secret%2Fvault/tag/1.0`);
    await anonymous.page.getByRole('heading', { name: 'Not found' }).waitFor();
    await screenshot(anonymous.page, 'not-found');

    const bob = await open();
    await signIn(bob.page, 'bob');
    assert.equal(await bob.page.locator('.account-groups').textContent(), 'no groups');
    await bob.page.locator('#repo-filter').fill('secret');
    await bob.page.getByText('No repository you can see matches “secret”.').waitFor();

    const alicePage = await open();
    await signIn(alicePage.page, 'alice');
    assert.match((await alicePage.page.locator('.account-groups').textContent()) ?? '', /vault-team/);
    await alicePage.page.locator('#repo-filter').fill('secret');
    await alicePage.page.getByRole('link', { name: 'secret/vault' }).click();
    await alicePage.page.getByRole('heading', { level: 1, name: 'secret/vault' }).waitFor();
    assert.equal(
      await alicePage.page.getByRole('button', { name: /^Delete tag/ }).count(),
      0,
      'read-only: no delete',
    );
    await screenshot(alicePage.page, 'repository-signed-in');
    for (const o of [anonymous, bob, alicePage]) assertHealthy(o.problems, 'hidden repositories');
  });

  it('signs in with a password, explains failures in plain words, and signs out', TIMEOUT, async () => {
    const { page, problems } = await open();
    await page.goto(`${server.url}/login`);
    await page.getByRole('link', { name: 'Continue as guest' }).waitFor();
    await page.getByLabel('User name', { exact: true }).fill('bob');
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Wrong user name or password.').waitFor();
    await screenshot(page, 'sign-in-failed');

    await page.goto(`${server.url}/login?error=access_denied&error_description=The+user+cancelled`);
    await page
      .getByText('The identity provider refused the sign-in, or it was cancelled. (The user cancelled)')
      .waitFor();

    await signIn(page, 'bob', '/image/public%2Fweb');
    await page.getByRole('heading', { level: 1, name: 'public/web' }).waitFor();
    const cookies = await page.context().cookies();
    assert.ok(
      cookies.some((c) => c.name === 'session' && c.httpOnly),
      'an HttpOnly session cookie',
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    // The header re-renders after the message: wait for the user to go rather than sampling once.
    await page.locator('#current-user').waitFor({ state: 'detached' });
    const after = await page.context().cookies();
    assert.ok(!after.some((c) => c.name === 'session' && c.value !== ''), 'the session cookie is gone');
    assert.ok(!after.some((c) => c.name === 'user' && c.value !== ''), 'the user cookie is gone');
    await screenshot(page, 'sign-in');

    // A session that ends while the page is open: the next navigation says so and offers sign-in.
    await signIn(page, 'bob', '/home');
    await page.context().clearCookies({ name: 'session' });
    await page.getByRole('link', { name: 'public/filler-00' }).click();
    await page.getByText('Your session has ended. Please sign in again.').waitFor();
    assert.match(page.url(), /\/login\?next=%2Fimage%2Fpublic%252Ffiller-00&reason=expired$/);
    await page.locator('#current-user').waitFor({ state: 'detached' });
    assertHealthy(problems, 'sign-in');
  });

  it('works from the keyboard alone: find, open, copy, go back', TIMEOUT, async () => {
    const { page, problems, context } = await open();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.goto(`${server.url}/home`);
    await page.locator('#repo-results table').waitFor();
    await page.keyboard.press('/');
    assert.equal(await inPage(page, 'document.activeElement?.id'), 'repo-filter');
    await page.keyboard.type('public/we');
    await page.locator('#repo-results a.row-link', { hasText: 'public/web' }).waitFor();
    await page.locator('#repo-results a.row-link').nth(1).waitFor({ state: 'detached' });
    await page.keyboard.press('ArrowDown');
    assert.equal(await inPage(page, 'document.activeElement?.textContent'), 'public/web');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'public/web' }).waitFor();
    assert.equal(await inPage(page, 'document.activeElement?.tagName'), 'H1', 'focus moves to the new page');

    await page.keyboard.press('/');
    assert.equal(await inPage(page, 'document.activeElement?.id'), 'tag-filter');
    await page.keyboard.type('v2');
    await page.locator('#tag-results a.row-link').nth(1).waitFor({ state: 'detached' });
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'public/web:v2' }).waitFor();

    // Tab from the heading to the digest's copy button, and copy with Enter.
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await inPage(page, "document.activeElement?.getAttribute('aria-label')")) === 'Copy digest';
    }
    assert.ok(reached, 'the copy button is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.locator('#announcer', { hasText: 'Copied digest' }).waitFor();
    const digest = await page.locator('#image-digest').textContent();
    assert.equal(await inPage(page, 'navigator.clipboard.readText()'), digest);

    await page.keyboard.press('Alt+ArrowLeft');
    await page.getByRole('heading', { level: 1, name: 'public/web' }).waitFor();
    assertHealthy(problems, 'keyboard');
  });

  it('lets an administrator delete a tag after confirming, and cancel with Escape', TIMEOUT, async () => {
    const { page, problems } = await open();
    await signIn(page, 'admin', '/image/public%2Fweb');
    await page.getByRole('heading', { level: 1, name: 'public/web' }).waitFor();
    await page.getByRole('button', { name: 'Delete tag v2' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete tag v2?' });
    await dialog.waitFor();
    await screenshot(page, 'delete-tag-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(
      await inPage(page, "document.activeElement?.getAttribute('aria-label')"),
      'Delete tag v2',
      'focus returns',
    );
    assert.ok((await listTags(server.url, 'public/web')).includes('v2'));

    await page.getByRole('button', { name: 'Delete tag v2' }).click();
    await dialog.getByRole('button', { name: 'Delete tag' }).click();
    await page.getByText('Deleted tag v2.').waitFor();
    await page.locator('#tag-results tr[data-tag="v2"]').waitFor({ state: 'detached' });
    assert.deepEqual((await listTags(server.url, 'public/web')).sort(), ['latest', 'v1']);
    assertHealthy(problems, 'delete');
  });

  it(
    'creates an API key that is shown once, lists it, and revokes it after confirming',
    TIMEOUT,
    async () => {
      const { page, problems, context } = await open();
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await signIn(page, 'alice', '/user/apikey');
      await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
      await page.getByText('You have no API keys.').waitFor();
      await page.getByLabel('Label', { exact: true }).fill('ci-main');
      await page.getByLabel('Expires', { exact: true }).selectOption('30');
      await page.getByRole('button', { name: 'Create key' }).click();
      const field = page.getByRole('textbox', { name: 'new API key' });
      await field.waitFor();
      const key = await field.inputValue();
      assert.match(key, /^zak_[0-9a-f]{32}$/);
      await page.getByRole('button', { name: 'Copy new API key' }).click();
      assert.equal(await inPage(page, 'navigator.clipboard.readText()'), key);
      const row = page.locator('#key-list tbody tr', { hasText: 'ci-main' });
      await row.waitFor();
      assert.match((await row.textContent()) ?? '', /Active/);
      assert.match((await row.textContent()) ?? '', /Never/, 'not used yet');
      await screenshot(page, 'api-key-created');

      const catalog = (k: string): Promise<Response> =>
        fetch(`${server.url}/v2/_catalog`, {
          headers: { Authorization: `Basic ${Buffer.from(`alice:${k}`).toString('base64')}` },
        });
      assert.equal((await catalog(key)).status, 200, 'the key works as a password');

      await page.reload();
      await row.waitFor();
      assert.equal(await page.getByRole('textbox', { name: 'new API key' }).count(), 0, 'shown only once');
      assert.doesNotMatch((await page.locator('main').textContent()) ?? '', new RegExp(key));
      assert.doesNotMatch((await row.textContent()) ?? '', /Never/, 'the last use is recorded');
      await screenshot(page, 'api-keys');

      await row.getByRole('button', { name: 'Revoke key ci-main' }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke key “ci-main”?' });
      await dialog.getByRole('button', { name: 'Revoke key' }).click();
      await page.getByText('Revoked key “ci-main”.').waitFor();
      await page.getByText('You have no API keys.').waitFor();
      assert.equal((await catalog(key)).status, 401, 'a revoked key is refused');
      assertHealthy(problems, 'API keys');
    },
  );

  it('fits a phone screen', TIMEOUT, async () => {
    const { page, problems } = await open(PHONE);
    for (const [name, url, ready] of [
      ['phone-repositories', '/home', '#repo-results table'],
      ['phone-repository', '/image/public%2Fweb', '#tag-results table'],
      ['phone-image', '/image/public%2Fweb/tag/v1', '#manifest'],
      ['phone-sign-in', '/login', '#username'],
    ] as const) {
      await page.goto(`${server.url}${url}`);
      await page.locator(ready).waitFor();
      const overflow = await inPage<number>(
        page,
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than the screen`);
      await screenshot(page, name);
    }
    assertHealthy(problems, 'phone');
  });

  it(
    'serves every page and file with strict security headers, and no secret in any URL',
    TIMEOUT,
    async () => {
      const page = await fetch(`${server.url}/image/public%2Fweb`);
      assert.equal(page.status, 200);
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/, 'no inline scripts');
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      const html = await page.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file');
      assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline styles');
      const asset = /src="(\/_berth\/ui\/static\/[0-9a-f]+\/app\.js)"/.exec(html)?.[1];
      assert.ok(asset, 'the module is served by Berth');
      const js = await fetch(`${server.url}${asset}`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
      assert.match(js.headers.get('cache-control') ?? '', /immutable/);
      assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
      assert.doesNotMatch(
        await js.text(),
        /https?:\/\/(?!localhost)[a-z]/i,
        'no URL of another site in the code',
      );

      const json = await fetch(`${server.url}/_berth/ui/api/repositories`, {
        headers: { 'X-ZOT-API-CLIENT': 'zot-ui' },
      });
      assert.equal(json.headers.get('cache-control'), 'no-store');
      assert.equal(json.headers.get('x-content-type-options'), 'nosniff');
      const denied = await fetch(`${server.url}/_berth/ui/api/repository?name=secret/vault`, {
        headers: { 'X-ZOT-API-CLIENT': 'zot-ui' },
      });
      assert.equal(denied.status, 404);
      assert.equal(denied.headers.get('x-frame-options'), 'DENY', 'errors carry the headers too');
      assert.equal((await fetch(`${server.url}/_berth/ui/api/repositories`, { method: 'POST' })).status, 405);
      assert.equal((await fetch(`${server.url}/`, { redirect: 'manual' })).headers.get('location'), '/home');
      for (const o of opened) {
        assertHealthy(o.problems, 'all pages');
      }
    },
  );
});
