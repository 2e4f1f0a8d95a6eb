/**
 * Acceptance scenarios 3 and 4 in a real browser, with the user's own config and a real OpenID
 * Connect provider: the CI service account signs in through the provider's login page, lands on the
 * repository list, opens an image pushed by skopeo, creates an API key on `/user/apikey`, pushes
 * with it using skopeo, sees the new tag, revokes the key, and sees skopeo refused.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  launchBrowser,
  openPage,
  screenshot,
  type OpenedPage,
  type PageProblems,
} from '../support/browser.js';
import { requireCommand, run, type RunResult } from '../support/clients.js';
import { makeImage, writeOciLayout, type Image } from '../support/fixtures.js';
import { startHomelab, TEST_USERS, type Homelab } from '../support/oidc.js';

const TIMEOUT = { timeout: 300_000 };

function assertHealthy(problems: PageProblems, what: string): void {
  assert.deepEqual(problems.errors, [], `${what}: script errors`);
  assert.deepEqual(problems.consoleErrors, [], `${what}: console errors (CSP violations show up here)`);
  assert.deepEqual(
    problems.foreignRequests,
    [],
    `${what}: requests to origins other than Berth and the identity provider`,
  );
}

describe('web UI with OpenID Connect sign-in and API keys', () => {
  let lab: Homelab;
  let browser: Browser;
  let work: string;
  let bin: string;
  let policy: string;
  let env: NodeJS.ProcessEnv;
  let layouts = 0;
  const opened: OpenedPage[] = [];

  const skopeo = (args: string[]): Promise<RunResult> =>
    run(bin, ['--policy', policy, ...args], { timeoutMs: 240_000, env });

  /** `skopeo copy` of an image from an OCI layout into the registry, with `user:key` credentials. */
  const push = async (image: Image, repo: string, tag: string, creds: string): Promise<RunResult> => {
    const src = await writeOciLayout(path.join(work, `layout-${++layouts}`), [{ content: image, tag: 'v1' }]);
    return skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      `oci:${src}:v1`,
      `docker://${lab.host}/${repo}:${tag}`,
    ]);
  };

  before(async () => {
    bin = requireCommand('skopeo');
    work = await mkdtemp(path.join(tmpdir(), 'e2e-ui-oidc-'));
    policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await mkdir(path.join(work, 'home'));
    // A private HOME and auth file: nothing on the machine lends skopeo credentials.
    env = {
      HOME: path.join(work, 'home'),
      XDG_RUNTIME_DIR: path.join(work, 'home'),
      REGISTRY_AUTH_FILE: path.join(work, 'auth.json'),
      DOCKER_CONFIG: path.join(work, 'docker'),
    };
    lab = await startHomelab();
    // The image the CI account will find: pushed by skopeo with an administrator's key.
    const first = await push(
      makeImage({ layerSizes: [4096, 80_000] }),
      'apps/hello',
      '1.0',
      `alice:${lab.keys.alice}`,
    );
    assert.equal(first.code, 0, first.stderr);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const o of opened) await o.context.close().catch(() => undefined);
    await browser?.close();
    await lab?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it(
    '3 and 4: sign in at the provider, find the image, create a key, push with it, revoke it',
    TIMEOUT,
    async () => {
      const o = await openPage(browser, lab.url, { allowedOrigins: [new URL(lab.provider.issuer).origin] });
      opened.push(o);
      const { page, context, problems } = o;
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: lab.url });

      // Anonymous visitors may read (the user's anonymousPolicy): the list shows, with a way to sign in.
      await page.goto(`${lab.url}/home`);
      await page.getByRole('link', { name: 'apps/hello' }).waitFor();
      await page.getByRole('link', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await screenshot(page, 'oidc-sign-in');
      await page.getByRole('link', { name: 'Sign in with OIDC' }).click();

      // The provider's own login page, on its own origin.
      await page.waitForURL((url) => url.href.startsWith(new URL(lab.provider.issuer).origin));
      await page.locator('input[name="login"]').fill('zot-ci');
      await page.locator('input[name="password"]').fill(TEST_USERS['zot-ci']!.password);
      await screenshot(page, 'oidc-provider-login');
      await page.getByRole('button', { name: 'Sign in' }).click();

      // Back at Berth, signed in: user name from preferred_username, groups from the token.
      await page.waitForURL(`${lab.url}/home`);
      await page.locator('#current-user', { hasText: 'zot-ci' }).waitFor();
      assert.equal(await page.locator('.account-groups').textContent(), 'artifact-workloads');
      await page.getByRole('link', { name: 'apps/hello' }).waitFor();
      await screenshot(page, 'oidc-repositories-signed-in');

      await page.getByRole('link', { name: 'apps/hello' }).click();
      await page.getByRole('link', { name: '1.0', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: 'apps/hello:1.0' }).waitFor();
      assert.equal(await page.locator('.pull-refs input').first().inputValue(), `${lab.host}/apps/hello:1.0`);
      assert.equal(await page.locator('.table-layers tbody tr').count(), 2);
      await screenshot(page, 'oidc-image');

      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
      await page.getByLabel('Label', { exact: true }).fill('ci-pipeline');
      await page.getByLabel('Expires', { exact: true }).selectOption('90');
      await page.getByRole('button', { name: 'Create key' }).click();
      const field = page.getByRole('textbox', { name: 'new API key' });
      await field.waitFor();
      await page.getByRole('button', { name: 'Copy new API key' }).click();
      const key = String(await page.evaluate('navigator.clipboard.readText()'));
      assert.equal(key, await field.inputValue());
      assert.match(key, /^zak_[0-9a-f]{32}$/);
      const row = page.locator('#key-list tbody tr', { hasText: 'ci-pipeline' });
      await row.waitFor();
      // 90 days from today, at the end of the day (the date shown is local).
      const expires = new Date();
      expires.setDate(expires.getDate() + 90);
      assert.match((await row.textContent()) ?? '', new RegExp(String(expires.getFullYear())));
      await screenshot(page, 'oidc-api-key-created');

      const pushed = await push(makeImage({ layerSizes: [2048] }), 'apps/hello', '2.0', `zot-ci:${key}`);
      assert.equal(pushed.code, 0, `skopeo push with the new key:\n${pushed.stderr}`);

      await page.getByRole('link', { name: 'Repositories' }).click();
      await page.getByRole('link', { name: 'apps/hello' }).click();
      await page.locator('#tag-results tr[data-tag="2.0"]').waitFor();
      assert.equal(
        await page.locator('.facts').getByText('2.0', { exact: true }).count(),
        1,
        'the newest tag is 2.0',
      );
      assert.equal(await page.getByRole('button', { name: /^Delete tag/ }).count(), 0, 'CI may not delete');
      await screenshot(page, 'oidc-repository-new-tag');

      await page.getByRole('link', { name: 'API keys' }).click();
      await row.waitFor();
      assert.doesNotMatch((await row.textContent()) ?? '', /Never/, 'the push is recorded as the last use');
      await row.getByRole('button', { name: 'Revoke key ci-pipeline' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
      await page.getByText('Revoked key “ci-pipeline”.').waitFor();
      // The list re-renders after the message appears: wait for the row to go rather than sampling once.
      await row.waitFor({ state: 'detached' });

      const refused = await push(makeImage({ layerSizes: [1024] }), 'apps/hello', '3.0', `zot-ci:${key}`);
      assert.notEqual(refused.code, 0, 'a revoked key must not push');
      assert.match(refused.stderr, /unauthorized|authentication required/i, refused.stderr);
      const tags = await fetch(`${lab.url}/v2/apps/hello/tags/list`).then(
        (r) => r.json() as Promise<{ tags: string[] }>,
      );
      assert.deepEqual(tags.tags.sort(), ['1.0', '2.0']);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You are signed out.').waitFor();
      await page.getByRole('link', { name: 'Sign in with OIDC' }).waitFor();
      assertHealthy(problems, 'OIDC flow');
    },
  );

  it('shows the API key page only to signed-in users', TIMEOUT, async () => {
    const o = await openPage(browser, lab.url);
    opened.push(o);
    await o.page.goto(`${lab.url}/user/apikey`);
    await o.page.waitForURL(/\/login\?next=%2Fuser%2Fapikey$/);
    await o.page.getByRole('link', { name: 'Sign in with OIDC' }).waitFor();
    const href = await o.page.getByRole('link', { name: 'Sign in with OIDC' }).getAttribute('href');
    assert.equal(
      href,
      '/zot/auth/login?provider=oidc&callback_ui=%2Fuser%2Fapikey',
      'back to the key page after sign-in',
    );
    const anonymous = await fetch(`${lab.url}/zot/auth/apikey`, {
      headers: { 'X-ZOT-API-CLIENT': 'zot-ui' },
    });
    assert.equal(anonymous.status, 401);
    assertHealthy(o.problems, 'API key page, anonymous');
  });
});
