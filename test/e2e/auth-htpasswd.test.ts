/**
 * Password authentication (`http.auth.htpasswd`, bcrypt hashes made with bcryptjs here) and the
 * parts of access control the user's config does not exercise: `accessControl.groups`,
 * `adminPolicy`, repositories closed to anonymous callers (401 and a filtered `_catalog`),
 * throttling of password guessing (429 with `Retry-After`), the web UI's password sign-in, the
 * token endpoint's forms, and an htpasswd file edited while Berth runs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { makeImage, pushContent } from '../support/fixtures.js';
import { UI_HEADER } from '../support/oidc.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { htpasswdText } from '../support/htpasswd.js';

const PASSWORDS: Record<string, string> = {
  carol: 'carol-secret',
  dave: 'dave-secret',
  root: 'root-secret',
  erin: 'erin-secret',
};

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

describe('htpasswd, config groups, admin policy, throttling', () => {
  let berth: RunningServer;
  let work: string;
  let file: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-auth-htpasswd-'));
    file = path.join(work, 'htpasswd');
    await writeFile(file, await htpasswdText(PASSWORDS));
    berth = await startBerth({
      config: {
        storage: {},
        http: {
          realm: 'berth-test',
          // The tests play a reverse proxy on loopback that forwards clients' addresses.
          trustedProxies: ['127.0.0.1'],
          auth: { htpasswd: { path: file }, apikey: true },
          accessControl: {
            groups: { dev: { users: ['carol'] } },
            adminPolicy: { users: ['root'], actions: ['read', 'create', 'update', 'delete'] },
            repositories: {
              '**': { policies: [{ groups: ['dev'], actions: ['read', 'create'] }], defaultPolicy: ['read'] },
              'public/**': {
                anonymousPolicy: ['read'],
                defaultPolicy: ['read'],
                policies: [{ groups: ['dev'], actions: ['read', 'create'] }],
              },
            },
          },
        },
      },
    });
    await pushContent(berth.url, 'public/app', makeImage(), 'v1', {
      headers: basic('root', PASSWORDS.root!),
    });
    await pushContent(berth.url, 'team/app', makeImage(), 'v1', { headers: basic('root', PASSWORDS.root!) });
  });

  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('accepts Basic passwords on every request and adds accessControl.groups', async () => {
    await pushContent(berth.url, 'team/carol', makeImage(), 'v1', {
      headers: basic('carol', PASSWORDS.carol!),
    });
    const dave = await fetch(`${berth.url}/v2/team/dave/blobs/uploads/`, {
      method: 'POST',
      headers: basic('dave', PASSWORDS.dave!),
    });
    assert.equal(dave.status, 403, 'dave is in no group: defaultPolicy is read only');
    assert.equal(
      (
        await fetch(`${berth.url}/v2/team/app/manifests/v1`, {
          method: 'DELETE',
          headers: basic('carol', PASSWORDS.carol!),
        })
      ).status,
      403,
    );
    assert.equal(
      (
        await fetch(`${berth.url}/v2/team/carol/manifests/v1`, {
          method: 'DELETE',
          headers: basic('root', PASSWORDS.root!),
        })
      ).status,
      202,
      'adminPolicy',
    );
  });

  it('closes repositories without anonymousPolicy to anonymous callers and filters the catalog', async () => {
    assert.equal((await fetch(`${berth.url}/v2/public/app/manifests/v1`)).status, 200);
    const closed = await fetch(`${berth.url}/v2/team/app/manifests/v1`);
    assert.equal(closed.status, 401);
    assert.match(
      closed.headers.get('www-authenticate') ?? '',
      /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/zot\/auth\/token",service="berth",scope="repository:team\/app:pull"$/,
    );
    const anonymous = (await (await fetch(`${berth.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(anonymous.repositories, ['public/app']);
    const dave = (await (
      await fetch(`${berth.url}/v2/_catalog`, { headers: basic('dave', PASSWORDS.dave!) })
    ).json()) as { repositories: string[] };
    assert.ok(dave.repositories.includes('team/app') && dave.repositories.includes('public/app'));
  });

  it('refuses a wrong password with 401 even where anonymous callers may read', async () => {
    const res = await fetch(`${berth.url}/v2/public/app/manifests/v1`, { headers: basic('carol', 'nope') });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { errors: Array<{ code: string }> };
    assert.equal(body.errors[0]?.code, 'UNAUTHORIZED');
    const twoHeaders = await fetch(`${berth.url}/v2/public/app/manifests/v1`, {
      headers: [
        ['Authorization', basic('carol', PASSWORDS.carol!).Authorization!],
        ['Authorization', basic('dave', PASSWORDS.dave!).Authorization!],
      ],
    });
    assert.equal(twoHeaders.status, 401, 'more than one Authorization header');
  });

  it('issues tokens for passwords (GET with Basic, POST with the OAuth2 password form), never for tokens', async () => {
    const scope = 'repository:team/carol:pull,push,delete';
    const get = await fetch(`${berth.url}/zot/auth/token?service=berth&scope=${encodeURIComponent(scope)}`, {
      headers: basic('carol', PASSWORDS.carol!),
    });
    assert.equal(get.status, 200);
    const { token, expires_in } = (await get.json()) as { token: string; expires_in: number };
    assert.ok(expires_in > 0);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      sub: string;
      access: unknown;
    };
    assert.equal(claims.sub, 'carol');
    assert.deepEqual(
      claims.access,
      [{ type: 'repository', name: 'team/carol', actions: ['pull', 'push'] }],
      'delete is not granted',
    );
    assert.equal(
      (await fetch(`${berth.url}/v2/`, { headers: { Authorization: `Bearer ${token}` } })).status,
      200,
    );
    // Not in the token, though the policy lets carol read it: 401 naming the scope to ask for, as
    // CNCF Distribution answers (a 403 is for what the policy itself forbids).
    const outOfScope = await fetch(`${berth.url}/v2/team/app/manifests/v1`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(outOfScope.status, 401, 'not in the token');
    const challenge = outOfScope.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.match(challenge, /scope="repository:team\/app:pull"/);
    assert.match(challenge, /error="insufficient_scope"/);

    const post = await fetch(`${berth.url}/zot/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'carol',
        password: PASSWORDS.carol!,
        scope,
        service: 'berth',
        client_id: 'test',
      }).toString(),
    });
    assert.equal(post.status, 200);
    assert.match(((await post.json()) as { access_token: string }).access_token, /^ey/);
    const wrong = await fetch(`${berth.url}/zot/auth/token?scope=${encodeURIComponent(scope)}`, {
      headers: basic('carol', 'nope'),
    });
    assert.equal(wrong.status, 401);
    const refresh = await fetch(`${berth.url}/zot/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=x',
    });
    assert.equal(refresh.status, 400);
    assert.equal(
      (await fetch(`${berth.url}/zot/auth/token`, { headers: { Authorization: `Bearer ${token}` } })).status,
      401,
    );
    const tampered = `${token.slice(0, -4)}AAAA`;
    assert.equal(
      (await fetch(`${berth.url}/v2/`, { headers: { Authorization: `Bearer ${tampered}` } })).status,
      401,
    );
  });

  it('signs the web UI in with a password (GET /v2/ with Basic and the UI header)', async () => {
    const res = await fetch(`${berth.url}/v2/`, {
      headers: { ...UI_HEADER, ...basic('dave', PASSWORDS.dave!) },
    });
    assert.equal(res.status, 200);
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('session='));
    assert.ok(session !== undefined && /HttpOnly/.test(session) && /SameSite=Lax/.test(session));
    assert.ok(cookies.some((c) => c.startsWith('user=dave;') && !/HttpOnly/.test(c)));
    const cookie = session.split(';')[0]!;
    const keys = await fetch(`${berth.url}/zot/auth/apikey`, { headers: { ...UI_HEADER, Cookie: cookie } });
    assert.equal(keys.status, 200);
    // The UI's anonymous ping: 200 ("continue as guest", anonymous may read public/**), no challenge;
    // the same ping from a registry client: 401 with a bearer challenge.
    const guest = await fetch(`${berth.url}/v2/`, { headers: UI_HEADER });
    assert.equal(guest.status, 200);
    assert.equal(guest.headers.get('www-authenticate'), null);
    assert.equal((await fetch(`${berth.url}/v2/`)).status, 401);
  });

  it("throttles password guessing per user name (429, Retry-After) without locking out that user's API key", async () => {
    const created = await fetch(`${berth.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { ...basic('erin', PASSWORDS.erin!), 'Content-Type': 'application/json' },
      body: '{"label":"erin"}',
    });
    assert.equal(created.status, 201);
    const key = ((await created.json()) as { apiKey: string }).apiKey;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push(
        (
          await fetch(`${berth.url}/v2/_catalog`, {
            headers: { ...basic('erin', `guess-${i}`), 'X-Forwarded-For': `198.51.100.${i}` },
          })
        ).status,
      );
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.deepEqual(statuses.slice(10), [429, 429]);
    const limited = await fetch(`${berth.url}/v2/_catalog`, { headers: basic('erin', PASSWORDS.erin!) });
    assert.equal(limited.status, 429, 'even the right password waits: no oracle');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(
      ((await limited.json()) as { errors: Array<{ code: string }> }).errors[0]?.code,
      'TOOMANYREQUESTS',
    );
    assert.equal(
      (await fetch(`${berth.url}/v2/_catalog`, { headers: basic('erin', key) })).status,
      200,
      'the API key still works',
    );
    assert.equal(
      (await fetch(`${berth.url}/v2/_catalog`, { headers: basic('carol', PASSWORDS.carol!) })).status,
      200,
      'other users are not affected',
    );
  });

  it('throttles password guessing per client address (behind a proxy: the forwarded address)', async () => {
    const from = (address: string, user: string, password: string) =>
      fetch(`${berth.url}/v2/_catalog`, {
        headers: { ...basic(user, password), 'X-Forwarded-For': `10.9.9.9, ${address}` },
      });
    for (let i = 0; i < 30; i++) assert.equal((await from('203.0.113.5', `nobody${i}`, 'x')).status, 401);
    assert.equal((await from('203.0.113.5', 'carol', PASSWORDS.carol!)).status, 429);
    assert.equal((await from('203.0.113.6', 'carol', PASSWORDS.carol!)).status, 200);
  });

  it('follows edits of the htpasswd file, and tokens of removed users stop working', async () => {
    const scope = encodeURIComponent('repository:team/app:pull');
    const daveToken = (
      (await (
        await fetch(`${berth.url}/zot/auth/token?scope=${scope}`, { headers: basic('dave', PASSWORDS.dave!) })
      ).json()) as { token: string }
    ).token;
    assert.equal(
      (
        await fetch(`${berth.url}/v2/team/app/manifests/v1`, {
          headers: { Authorization: `Bearer ${daveToken}` },
        })
      ).status,
      200,
    );
    const { dave: _removed, ...rest } = PASSWORDS;
    await writeFile(file, await htpasswdText({ ...rest, frank: 'frank-secret' }));
    let frank = 401;
    for (let attempt = 0; attempt < 40 && frank !== 200; attempt++) {
      await sleep(250);
      frank = (await fetch(`${berth.url}/v2/_catalog`, { headers: basic('frank', 'frank-secret') })).status;
    }
    assert.equal(frank, 200, 'a user added to the file can sign in');
    assert.equal(
      (await fetch(`${berth.url}/v2/_catalog`, { headers: basic('dave', PASSWORDS.dave!) })).status,
      401,
    );
    assert.equal(
      (
        await fetch(`${berth.url}/v2/team/app/manifests/v1`, {
          headers: { Authorization: `Bearer ${daveToken}` },
        })
      ).status,
      401,
      'his token died with him',
    );
  });
});
