/**
 * Browser sign-in (acceptance scenario 3) and API keys (scenario 4) over real HTTP, with the user's
 * config and a real OpenID Connect provider: the redirect to the provider (PKCE, state, nonce,
 * redirect URI from `externalUrl`), its login form, the way back with a session, zot's cookies,
 * the user name from `claimMapping.username` and the groups from the token; the session's limits
 * (UI header, cross-site requests, one-time state, new id per sign-in, logout); API keys as zot
 * shapes them; and what survives a restart and an identity provider that is down.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { makeImage, pushContent } from '../support/fixtures.js';
import {
  Browser,
  formAction,
  signIn,
  startHomelab,
  startOidcProvider,
  TEST_USERS,
  UI_HEADER,
  type Homelab,
} from '../support/oidc.js';

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

describe('OIDC sign-in, sessions and API keys (user config)', () => {
  let lab: Homelab;

  before(async () => {
    lab = await startHomelab();
  });
  after(async () => {
    await lab?.stop();
  });

  /** Requests as the web UI does: the session cookie plus zot's UI header, from the registry's own pages. */
  const ui = (
    browser: Browser,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) =>
    browser.request(`${lab.url}${path}`, {
      ...init,
      headers: { ...UI_HEADER, Origin: lab.url, ...init.headers },
    });

  it('redirects to the provider with PKCE (S256), state, nonce and the external URL as redirect URI', async () => {
    const browser = new Browser();
    const res = await browser.request(`${lab.url}/zot/auth/login?provider=oidc&callback_ui=%2Fhome`);
    assert.equal(res.status, 302);
    const target = new URL(res.headers.get('location')!);
    assert.equal(`${target.origin}${target.pathname}`, `${lab.provider.issuer}auth`);
    const q = target.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), lab.provider.clientId);
    assert.equal(q.get('redirect_uri'), `${lab.url}/zot/auth/callback/oidc`);
    assert.deepEqual(q.get('scope')?.split(' '), ['openid', 'email', 'profile']);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((q.get('state') ?? '').length >= 20 && (q.get('nonce') ?? '').length >= 20);
    const bound = browser.cookie('127.0.0.1', 'berth_signin');
    assert.ok(bound?.httpOnly && bound.path === '/zot/auth/callback' && bound.value === q.get('state'));
  });

  it('answers 400 for an unknown provider', async () => {
    const res = await fetch(`${lab.url}/zot/auth/login?provider=github`, { redirect: 'manual' });
    assert.equal(res.status, 400);
  });

  it('3: signs in through the provider form: user name from preferred_username, zot cookies, back at callback_ui', async () => {
    const { browser, redirectedTo, loginPage } = await signIn(
      lab.url,
      'bob',
      TEST_USERS.bob!.password,
      '/home',
    );
    assert.ok(loginPage !== undefined, 'the provider showed its login form');
    assert.equal(redirectedTo, `${lab.url}/home`);
    const session = browser.cookie('127.0.0.1', 'session');
    assert.ok(session !== undefined);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.secure, false, 'externalUrl is plain http here');
    const user = browser.cookie('127.0.0.1', 'user');
    assert.equal(user?.value, 'bob', 'preferred_username, not the subject id');
    assert.equal(user?.httpOnly, false);
    // The UI's session works for the API-key routes.
    assert.equal((await ui(browser, '/zot/auth/apikey')).status, 200);
  });

  it('3: groups come from the token: alice (admins) may delete through the UI, bob may not', async () => {
    const image = makeImage();
    await pushContent(lab.url, 'e2e/oidc-groups', image, 'v1', { headers: basic('alice', lab.keys.alice) });
    const asBob = await ui(lab.browsers.bob, '/v2/e2e/oidc-groups/manifests/v1', { method: 'DELETE' });
    assert.equal(asBob.status, 403);
    assert.equal(asBob.headers.get('www-authenticate'), null, 'no browser dialog for the UI');
    const asAlice = await ui(lab.browsers.alice, '/v2/e2e/oidc-groups/manifests/v1', { method: 'DELETE' });
    assert.equal(asAlice.status, 202);
  });

  it('refuses a wrong password at the provider and never reaches Berth', async () => {
    const browser = new Browser();
    const page = await browser.follow(`${lab.url}/zot/auth/login?provider=oidc&callback_ui=%2F`);
    const refusedBefore = lab.provider.refusedLogins();
    const res = await browser.follow(formAction(page), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'alice', password: 'wrong' }).toString(),
    });
    assert.match(res.body, /Invalid user name or password/);
    assert.equal(lab.provider.refusedLogins(), refusedBefore + 1);
    assert.equal(browser.cookie('127.0.0.1', 'session'), undefined);
  });

  it('never redirects off-site after sign-in', async () => {
    for (const [given, expected] of [
      ['https://evil.example/steal', `${lab.url}/`],
      ['//evil.example/steal', `${lab.url}/`],
      ['/\\evil.example', `${lab.url}/`],
      [`${lab.url}/explore?q=x`, `${lab.url}/explore?q=x`],
    ] as const) {
      const { redirectedTo } = await signIn(lab.url, 'bob', TEST_USERS.bob!.password, given);
      assert.equal(redirectedTo, expected, `callback_ui ${given}`);
    }
  });

  it('uses each sign-in state once, and only in the browser that started it', async () => {
    const browser = new Browser();
    const page = await browser.follow(`${lab.url}/zot/auth/login?provider=oidc&callback_ui=%2F`);
    const back = await browser.request(formAction(page), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'bob', password: TEST_USERS.bob!.password }).toString(),
    });
    // Follow the provider's redirects up to (not into) Berth's callback.
    let res = back;
    while (!(res.headers.get('location') ?? '').startsWith(`${lab.url}/zot/auth/callback/`)) {
      res = await browser.request(new URL(res.headers.get('location')!, res.url).href);
    }
    const callback = res.headers.get('location')!;
    // Another browser (an attacker who got the URL) cannot use it.
    const stranger = await new Browser().request(callback);
    assert.equal(stranger.status, 401);
    assert.match(stranger.body, /another browser|expired/);
    // The stranger's attempt did not burn it for the right browser… which then uses it once.
    const first = await browser.request(callback);
    assert.equal(first.status, 302);
    const replay = await browser.request(callback);
    assert.equal(replay.status, 401);
  });

  it('starts a new session id at every sign-in and ends it at logout', async () => {
    const browser = new Browser();
    await signIn(lab.url, 'bob', TEST_USERS.bob!.password, '/', browser);
    const first = browser.cookie('127.0.0.1', 'session')!.value;
    await signIn(lab.url, 'bob', TEST_USERS.bob!.password, '/', browser);
    const second = browser.cookie('127.0.0.1', 'session')!.value;
    assert.notEqual(first, second);
    const withOld = await fetch(`${lab.url}/zot/auth/apikey`, {
      headers: { ...UI_HEADER, Cookie: `session=${first}` },
    });
    assert.equal(withOld.status, 401, 'the replaced session is gone');

    assert.equal((await ui(browser, '/zot/auth/logout')).status, 405, 'logout is a POST');
    const out = await ui(browser, '/zot/auth/logout', { method: 'POST' });
    assert.equal(out.status, 200);
    assert.equal(browser.cookie('127.0.0.1', 'session'), undefined, 'the cookie is cleared');
    const after = await fetch(`${lab.url}/zot/auth/apikey`, {
      headers: { ...UI_HEADER, Cookie: `session=${second}` },
    });
    assert.equal(after.status, 401, 'the session ended on the server');
  });

  it('honours the session cookie only with the UI header, and refuses cross-site state changes', async () => {
    const cookie = lab.browsers['zot-ci'].cookieHeader(`${lab.url}/`)!;
    const cliLike = await fetch(`${lab.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/json' },
      body: '{"label":"x"}',
    });
    assert.equal(cliLike.status, 401);
    const crossOrigin = await fetch(`${lab.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: {
        Cookie: cookie,
        ...UI_HEADER,
        Origin: 'https://evil.example',
        'Content-Type': 'application/json',
      },
      body: '{"label":"x"}',
    });
    assert.equal(crossOrigin.status, 403);
    const crossSite = await fetch(`${lab.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: {
        Cookie: cookie,
        ...UI_HEADER,
        'Sec-Fetch-Site': 'cross-site',
        'Content-Type': 'application/json',
      },
      body: '{"label":"x"}',
    });
    assert.equal(crossSite.status, 403);
    const logout = await fetch(`${lab.url}/zot/auth/logout`, {
      method: 'POST',
      headers: { Cookie: cookie, Origin: 'https://evil.example' },
    });
    assert.equal(logout.status, 403);
    assert.equal((await ui(lab.browsers['zot-ci'], '/zot/auth/apikey')).status, 200, 'the session is intact');
  });

  it("4: API keys have zot's shapes; the key is shown once and stored only as a hash", async () => {
    const browser = lab.browsers['zot-ci'];
    const created = await ui(browser, '/zot/auth/apikey', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'berth-test-ui' },
      body: JSON.stringify({
        label: 'shapes',
        scopes: ['repo:read'],
        expirationDate: '2099-09-20T23:59:59.999-07:00',
      }),
    });
    assert.equal(created.status, 201);
    const key = JSON.parse(created.body) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(key).sort(),
      [
        'apiKey',
        'createdAt',
        'creatorUa',
        'expirationDate',
        'generatedBy',
        'isExpired',
        'label',
        'lastUsed',
        'scopes',
        'uuid',
      ].sort(),
    );
    assert.match(String(key.apiKey), /^zak_[0-9a-f]{32}$/);
    assert.equal(key.label, 'shapes');
    assert.deepEqual(key.scopes, ['repo:read']);
    assert.equal(key.isExpired, false);
    assert.equal(key.generatedBy, 'manual');
    assert.equal(key.creatorUa, 'berth-test-ui');
    assert.equal(key.lastUsed, '0001-01-01T00:00:00Z');
    assert.equal(new Date(String(key.expirationDate)).getTime(), Date.parse('2099-09-20T23:59:59.999-07:00'));

    const used = await fetch(`${lab.url}/v2/_catalog`, { headers: basic('zot-ci', String(key.apiKey)) });
    assert.equal(used.status, 200);

    const list = JSON.parse((await ui(browser, '/zot/auth/apikey')).body) as {
      apiKeys: Array<Record<string, unknown>>;
    };
    const listed = list.apiKeys.find((k) => k.uuid === key.uuid);
    assert.ok(listed !== undefined);
    assert.equal(listed.apiKey, undefined, 'the key is never shown again');
    assert.notEqual(listed.lastUsed, '0001-01-01T00:00:00Z', 'lastUsed was recorded');
    assert.ok(!list.apiKeys.some((k) => JSON.stringify(k).includes(String(key.apiKey).slice(4))));

    // Nothing in the storage root (database, WAL) holds the key itself.
    const meta = path.join(lab.berth.root, '_berth');
    for (const entry of await readdir(meta, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = entry.name;
      const bytes = await readFile(path.join(meta, file));
      assert.ok(!bytes.includes(String(key.apiKey).slice(4)), `${file} contains the key`);
    }
  });

  it('4: refuses bad API-key requests like zot, and anonymous callers with 401', async () => {
    const browser = lab.browsers.bob;
    const post = (body: string) =>
      ui(browser, '/zot/auth/apikey', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
    assert.equal(
      (await post('{"label":"x","expirationDate":"2001-01-01T00:00:00Z"}')).status,
      400,
      'a date in the past',
    );
    assert.equal((await post('{"label":"x","expirationDate":"next week"}')).status, 400, 'not RFC 3339');
    assert.equal((await post('not json')).status, 400);
    assert.equal((await post(JSON.stringify({ label: 'x'.repeat(9000) }))).status, 413);
    assert.equal(
      (await ui(browser, '/zot/auth/apikey', { method: 'DELETE' })).status,
      400,
      'DELETE needs ?id=',
    );
    assert.equal((await ui(browser, '/zot/auth/apikey?id=a&id=b', { method: 'DELETE' })).status, 400);
    assert.equal(
      (await ui(browser, '/zot/auth/apikey?id=00000000-0000-0000-0000-000000000000', { method: 'DELETE' }))
        .status,
      200,
      'unknown ids: 200, as zot',
    );

    const anonymous = await fetch(`${lab.url}/zot/auth/apikey`);
    assert.equal(anonymous.status, 401, 'zot answers 500 here');
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    // Keys of other users cannot be revoked: alice's key survives bob's attempt.
    const alices = JSON.parse((await ui(lab.browsers.alice, '/zot/auth/apikey')).body) as {
      apiKeys: Array<{ uuid: string }>;
    };
    for (const k of alices.apiKeys)
      assert.equal((await ui(browser, `/zot/auth/apikey?id=${k.uuid}`, { method: 'DELETE' })).status, 200);
    assert.equal(
      (await fetch(`${lab.url}/v2/_catalog`, { headers: basic('alice', lab.keys.alice) })).status,
      200,
    );
    // A key cannot manage keys (a leaked key must not mint its own successors).
    const withKey = await fetch(`${lab.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { ...basic('zot-ci', lab.keys['zot-ci']), 'Content-Type': 'application/json' },
      body: '{"label":"x"}',
    });
    assert.equal(withKey.status, 403);
    // Someone else's key with my user name is not mine.
    assert.equal(
      (await fetch(`${lab.url}/v2/_catalog`, { headers: basic('bob', lab.keys.alice) })).status,
      401,
    );
  });

  it("serves the UI's stripped configuration at /v2/_zot/ext/mgmt to anybody", async () => {
    const res = await fetch(`${lab.url}/v2/_zot/ext/mgmt`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { http: { auth: unknown } };
    assert.deepEqual(body.http.auth, { openid: { providers: { oidc: {} } }, apikey: true });
    assert.ok(!JSON.stringify(body).includes(lab.provider.clientSecret));
    assert.equal(
      (await fetch(`${lab.url}/v2/_zot/ext/mgmt`, { headers: basic('zot-ci', 'wrong') })).status,
      401,
    );
  });

  it('keeps sessions and keys across a restart', async () => {
    await lab.restartBerth();
    assert.equal((await ui(lab.browsers.alice, '/zot/auth/apikey')).status, 200, 'the session survived');
    assert.equal(
      (await fetch(`${lab.url}/v2/_catalog`, { headers: basic('zot-ci', lab.keys['zot-ci']) })).status,
      200,
      'the key survived',
    );
  });

  it('keeps password-less access working while the provider is down, says why sign-in fails, and recovers', async () => {
    const { port, keys, clientId, clientSecret } = lab.provider;
    await lab.provider.stop();
    await lab.restartBerth();
    // CI keeps pushing.
    await pushContent(lab.url, 'e2e/oidc-down', makeImage(), 'v1', {
      headers: basic('zot-ci', lab.keys['zot-ci']),
    });
    const page = await new Browser().request(`${lab.url}/zot/auth/login?provider=oidc&callback_ui=%2F`);
    assert.equal(page.status, 503);
    assert.match(page.body, /cannot be reached/);
    const json = await fetch(`${lab.url}/zot/auth/login?provider=oidc`, {
      headers: { Accept: 'application/json' },
    });
    assert.equal(json.status, 503);
    assert.match(
      ((await json.json()) as { errors: Array<{ message: string }> }).errors[0]!.message,
      /cannot be reached/,
    );

    lab.provider = await startOidcProvider({
      port,
      keys,
      clientId,
      clientSecret,
      redirectUris: [`${lab.url}/zot/auth/callback/oidc`],
    });
    // Discovery is retried on demand (with a back-off of at most 30 s).
    let signedIn = false;
    for (let attempt = 0; attempt < 80 && !signedIn; attempt++) {
      const probe = await fetch(`${lab.url}/zot/auth/login?provider=oidc`, { redirect: 'manual' });
      signedIn = probe.status === 302;
      if (!signedIn) await sleep(500);
    }
    assert.ok(signedIn, 'sign-in came back');
    const { browser } = await signIn(lab.url, 'alice', TEST_USERS.alice!.password);
    assert.equal(browser.cookie('127.0.0.1', 'user')?.value, 'alice');
  });
});
