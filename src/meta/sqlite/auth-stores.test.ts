import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDatabase } from '../database.js';
import { sha256Hex } from '../../auth/store/hash.js';
import { migrateAuthTables } from './auth-schema.js';
import { SqliteApiKeys as ApiKeyStore } from './auth-api-keys.js';
import { SqliteSessions as SessionStore } from './auth-sessions.js';
import { SqliteLoginStates as LoginStateStore } from './auth-login-states.js';

function db() {
  const d = openDatabase(':memory:');
  migrateAuthTables(d);
  migrateAuthTables(d);
  return d;
}

describe('auth stores (SQLite)', async () => {
  it('stores API keys by hash only, lists and revokes them per owner', async () => {
    const d = db();
    const store = new ApiKeyStore(d);
    const now = new Date('2026-01-01T00:00:00Z');
    const { key, record } = await store.create({
      owner: 'alice',
      label: 'l',
      scopes: ['x'],
      creatorUa: 'ua',
      expiresAt: undefined,
      now,
    });
    const row = d.prepare('SELECT * FROM auth_api_keys').get() as Record<string, unknown>;
    assert.ok(
      !Object.values(row).some((v) => typeof v === 'string' && v.includes(key.slice(4))),
      'the key itself is not stored',
    );
    assert.equal(row.hash, sha256Hex(key.slice(4)));
    assert.deepEqual(await store.findByKey(key), record);
    assert.deepEqual(record.scopes, ['x']);
    assert.equal((await store.listByOwner('alice')).length, 1);
    assert.equal((await store.listByOwner('bob')).length, 0);
    assert.equal(await store.revoke('bob', record.id), false, 'only the owner revokes');
    assert.equal(await store.revoke('alice', record.id), true);
    assert.equal(await store.findByKey(key), undefined);
  });

  it('keeps session ids only as hashes and forgets expired sessions', async () => {
    const d = db();
    const sessions = new SessionStore(d);
    const now = new Date('2026-01-01T00:00:00Z');
    const { id } = await sessions.create('alice', 'oidc', now, 60_000);
    const stored = d.prepare('SELECT id_hash FROM auth_sessions').get() as { id_hash: string };
    assert.equal(stored.id_hash, sha256Hex(id));
    assert.equal((await sessions.find(id, now))?.username, 'alice');
    assert.equal(await sessions.find(id, new Date(now.getTime() + 60_000)), undefined);
    assert.deepEqual(
      d.prepare('SELECT count(*) AS n FROM auth_sessions').get(),
      { n: 0 },
      'looking an expired session up deletes it',
    );
    const other = await sessions.create('bob', undefined, now, 1);
    assert.equal(await sessions.purgeExpired(new Date(now.getTime() + 10)), 1);
    assert.equal(await sessions.find(other.id, now), undefined);
  });

  it('hands each sign-in state out once, and not after it expired', async () => {
    const store = new LoginStateStore(db());
    const now = new Date('2026-01-01T00:00:00Z');
    const login = { provider: 'oidc', codeVerifier: 'v', nonce: 'n', callback: '/home' };
    await store.save('state-1', login, new Date(now.getTime() + 1000), now);
    assert.deepEqual(await store.take('state-1', now), login);
    assert.equal(await store.take('state-1', now), undefined);
    await store.save('state-2', login, new Date(now.getTime() + 1000), now);
    assert.equal(await store.take('state-2', new Date(now.getTime() + 1000)), undefined);
  });
});
