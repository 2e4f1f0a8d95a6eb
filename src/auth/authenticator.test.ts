import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { openSqliteStore } from '../meta/sqlite/store.js';
import type { MetadataStore } from '../meta/store.js';
import { Authenticator } from './authenticator.js';
import { HtpasswdFile } from './authn/htpasswd.js';
import { SharedThrottle } from './authn/throttle.js';
import type { ApiKeyStore, SessionStore, UserStore } from './store/index.js';
import { RegistryTokens } from './tokens/registry-tokens.js';

describe('Authenticator', () => {
  let dir: string;
  let meta: MetadataStore;
  let htpasswd: HtpasswdFile;
  let clock = new Date('2026-06-01T00:00:00Z');
  let auth: Authenticator;
  let keys: ApiKeyStore;
  let users: UserStore;
  let sessions: SessionStore;
  let tokens: RegistryTokens;

  const build = (withHtpasswd: boolean): Authenticator =>
    new Authenticator({
      htpasswd: withHtpasswd ? htpasswd : undefined,
      apiKeys: keys,
      users,
      sessions,
      tokens,
      addressThrottle: new SharedThrottle(meta.throttles, {
        name: 'pw-addr',
        maxAttempts: 30,
        now: () => clock.getTime(),
      }),
      userThrottle: new SharedThrottle(meta.throttles, {
        name: 'pw-user',
        maxAttempts: 3,
        now: () => clock.getTime(),
      }),
      now: () => clock,
    });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'authenticator-'));
    await writeFile(path.join(dir, 'htpasswd'), `carol:${await bcrypt.hash('carol-pw', 4)}\n`);
    htpasswd = await HtpasswdFile.open(path.join(dir, 'htpasswd'));
    ({ meta } = openSqliteStore(':memory:'));
    keys = meta.apiKeys;
    users = meta.users;
    sessions = meta.sessions;
    tokens = new RegistryTokens({
      key: { id: 'k', secret: new Uint8Array(randomBytes(32)) },
      service: 'test',
    });
    auth = build(true);
  });

  after(async () => {
    htpasswd.close();
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts an htpasswd password and refuses a wrong one', async () => {
    const ok = await auth.checkBasic('carol', 'carol-pw', '192.0.2.1');
    assert.ok(ok.ok);
    assert.deepEqual(ok.identity, { username: 'carol', groups: [], method: 'htpasswd' });
    assert.deepEqual(await auth.checkBasic('carol', 'nope', '192.0.2.1'), {
      ok: false,
      reason: 'invalid',
      method: 'password',
    });
    assert.deepEqual(await auth.checkBasic('nobody', 'carol-pw', '192.0.2.1'), {
      ok: false,
      reason: 'invalid',
      method: 'password',
    });
  });

  it("accepts an API key only with its owner's name, carrying the owner's last sign-in groups", async () => {
    await users.recordSignIn('zot-ci', ['artifact-workloads'], clock);
    const { key, record } = await keys.create({
      owner: 'zot-ci',
      label: 'ci',
      scopes: null,
      creatorUa: 'test',
      expiresAt: undefined,
      now: clock,
    });
    const ok = await auth.checkBasic('zot-ci', key, '192.0.2.1');
    assert.ok(ok.ok);
    assert.deepEqual(ok.identity, { username: 'zot-ci', groups: ['artifact-workloads'], method: 'apikey' });
    assert.deepEqual(ok.subject, {
      username: 'zot-ci',
      groups: ['artifact-workloads'],
      method: 'apikey',
      keyId: record.id,
    });
    assert.equal((await keys.findById(record.id))?.lastUsedAt?.getTime(), clock.getTime());
    assert.deepEqual(await auth.checkBasic('carol', key, '192.0.2.1'), {
      ok: false,
      reason: 'invalid',
      method: 'apikey',
    });
    assert.deepEqual(await auth.checkBasic('zot-ci', 'zak_' + '0'.repeat(32), '192.0.2.1'), {
      ok: false,
      reason: 'invalid',
      method: 'apikey',
    });
    assert.deepEqual(await auth.checkBasic('zot-ci', 'zak_malformed', '192.0.2.1'), {
      ok: false,
      reason: 'invalid',
      method: 'apikey',
    });
  });

  it('refuses an API key after its expiry instant, and a revoked one', async () => {
    const expiresAt = new Date(clock.getTime() + 1000);
    const { key, record } = await keys.create({
      owner: 'zot-ci',
      label: 'short',
      scopes: null,
      creatorUa: 'test',
      expiresAt,
      now: clock,
    });
    clock = expiresAt;
    assert.ok(
      (await auth.checkBasic('zot-ci', key, '192.0.2.1')).ok,
      'valid up to and including the instant',
    );
    clock = new Date(expiresAt.getTime() + 1);
    assert.equal((await auth.checkBasic('zot-ci', key, '192.0.2.1')).ok, false);
    const other = await keys.create({
      owner: 'zot-ci',
      label: 'revoke',
      scopes: null,
      creatorUa: 'test',
      expiresAt: undefined,
      now: clock,
    });
    assert.ok(await keys.revoke('zot-ci', other.record.id));
    assert.equal((await auth.checkBasic('zot-ci', other.key, '192.0.2.1')).ok, false);
    assert.equal(await keys.revoke('zot-ci', record.id), true);
  });

  it('throttles wrong passwords per user name, not API keys of that user', async () => {
    await users.recordSignIn('carol', [], clock);
    const { key } = await keys.create({
      owner: 'carol',
      label: 'k',
      scopes: null,
      creatorUa: 'test',
      expiresAt: undefined,
      now: clock,
    });
    for (let i = 0; i < 3; i++)
      assert.equal((await auth.checkBasic('carol', `bad${i}`, `198.51.100.${i}`)).ok, false);
    const limited = await auth.checkBasic('carol', 'carol-pw', '198.51.100.9');
    assert.equal(limited.ok, false);
    assert.equal((limited as { reason: string }).reason, 'throttled');
    assert.ok((limited as { retryAfterMs: number }).retryAfterMs > 0);
    assert.ok((await auth.checkBasic('carol', key, '198.51.100.9')).ok, 'the key is not throttled');
    clock = new Date(clock.getTime() + 60_000);
    assert.ok((await auth.checkBasic('carol', 'carol-pw', '198.51.100.9')).ok, 'drained after the window');
    for (let i = 0; i < 10; i++)
      assert.ok(
        (await auth.checkBasic('carol', 'carol-pw', '198.51.100.9')).ok,
        'right passwords do not count',
      );
  });

  it('counts concurrent wrong passwords before checking them: a burst cannot slip past the limit', async () => {
    await writeFile(path.join(dir, 'htpasswd-dave'), `dave:${await bcrypt.hash('dave-pw', 4)}\n`);
    const fresh = await HtpasswdFile.open(path.join(dir, 'htpasswd-dave'));
    try {
      const burst = new Authenticator({
        htpasswd: fresh,
        users,
        sessions,
        tokens,
        addressThrottle: new SharedThrottle(meta.throttles, { name: 'burst-addr', maxAttempts: 100 }),
        userThrottle: new SharedThrottle(meta.throttles, { name: 'burst-user', maxAttempts: 3 }),
      });
      const verdicts = await Promise.all(
        Array.from({ length: 12 }, (_, i) => burst.checkBasic('dave', `guess-${i}`, '203.0.113.5')),
      );
      const checked = verdicts.filter((v) => !v.ok && v.reason === 'invalid').length;
      assert.equal(checked, 3, 'only three guesses reached bcrypt');
      assert.equal(verdicts.filter((v) => !v.ok && v.reason === 'throttled').length, 9);
    } finally {
      fresh.close();
    }
  });

  it('refuses passwords without an htpasswd file, without counting them', async () => {
    const keysOnly = build(false);
    for (let i = 0; i < 10; i++)
      assert.deepEqual(await keysOnly.checkBasic('zot-ci', 'guess', '192.0.2.7'), {
        ok: false,
        reason: 'invalid',
        method: 'password',
      });
  });

  it('checks tokens against their key and their htpasswd user at every use', async () => {
    const { key, record } = await keys.create({
      owner: 'zot-ci',
      label: 'tok',
      scopes: null,
      creatorUa: 'test',
      expiresAt: undefined,
      now: clock,
    });
    const viaKey = await auth.checkBasic('zot-ci', key, '192.0.2.1');
    assert.ok(viaKey.ok);
    const token = (
      await tokens.issue(viaKey.subject, [{ type: 'repository', name: 'a', actions: ['pull'] }], clock)
    ).token;
    const good = await auth.checkBearer(token);
    assert.ok(good.ok);
    assert.equal(good.identity.method, 'token');
    assert.deepEqual(good.identity.groups, ['artifact-workloads']);
    await keys.revoke('zot-ci', record.id);
    assert.deepEqual(await auth.checkBearer(token), { ok: false, reason: 'invalid', method: 'token' });

    const ghost = (await tokens.issue({ username: 'ghost', groups: [], method: 'htpasswd' }, [], clock))
      .token;
    assert.equal((await auth.checkBearer(ghost)).ok, false, 'not in the htpasswd file');
    const carol = (await tokens.issue({ username: 'carol', groups: [], method: 'htpasswd' }, [], clock))
      .token;
    assert.ok((await auth.checkBearer(carol)).ok);
  });

  it('resolves sessions to their user with the groups of the last sign-in, until they expire', async () => {
    await users.recordSignIn('alice', ['admins'], clock);
    const { id } = await sessions.create('alice', 'oidc', clock, 1000);
    assert.deepEqual(await auth.checkSession(id), {
      username: 'alice',
      groups: ['admins'],
      method: 'session',
    });
    await users.recordSignIn('alice', [], clock);
    assert.deepEqual((await auth.checkSession(id))?.groups, [], 're-read on every request');
    assert.equal(await auth.checkSession('not-a-session'), undefined);
    clock = new Date(clock.getTime() + 1000);
    assert.equal(await auth.checkSession(id), undefined, 'expired');
    const orphan = await sessions.create('never-signed-in', undefined, clock, 1000);
    assert.equal(await auth.checkSession(orphan.id), undefined, 'no user record');
  });
});
