import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { RegistryTokens } from './registry-tokens.js';
import {
  loadSigningKeys,
  rotateSigningKeyFile,
  SIGNING_KEY_FILE,
  signingKeysFromEnv,
} from './signing-keys.js';

const subject = { username: 'carol', groups: [], method: 'htpasswd' } as const;

describe('token signing keys', () => {
  it('are created once in a 0600 file even when many starts race, and never in the database', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-keys-'));
    try {
      const all = await Promise.all(Array.from({ length: 8 }, () => loadSigningKeys(dir, {})));
      assert.equal(new Set(all.map((k) => k.current.id)).size, 1, 'one key for every starter');
      assert.equal((await stat(path.join(dir, SIGNING_KEY_FILE))).mode & 0o777, 0o600);
      assert.equal(all[0]!.current.secret.length, 32);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rotate without logging anyone out: tokens of the previous key still verify, new ones use the new key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-keys-'));
    try {
      const before = await loadSigningKeys(dir, {});
      const old = new RegistryTokens({ key: before.current, service: 's' });
      const issued = await old.issue(subject, [], new Date());
      const after = await rotateSigningKeyFile(dir);
      assert.notEqual(after.current.id, before.current.id);
      assert.deepEqual(
        after.previous.map((k) => k.id),
        [before.current.id],
      );
      const rotated = new RegistryTokens({ key: after.current, previous: after.previous, service: 's' });
      assert.ok(await rotated.verify(issued.token, new Date()), 'a token of the previous key');
      // A process that started before the rotation learns the new key from the file when it meets it.
      const stale = new RegistryTokens({
        key: before.current,
        service: 's',
        reload: () => loadSigningKeys(dir, {}),
      });
      const fresh = await rotated.issue(subject, [], new Date());
      assert.ok(
        await stale.verify(fresh.token, new Date()),
        'a token of the new key, verified after a reload',
      );
      assert.equal(
        (JSON.parse(await readFile(path.join(dir, SIGNING_KEY_FILE), 'utf8')) as { keys: unknown[] }).keys
          .length,
        2,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('come from the environment when BERTH_TOKEN_SECRET is set (the same id in every process)', () => {
    const env = { BERTH_TOKEN_SECRET: 'x'.repeat(40), BERTH_TOKEN_SECRET_PREVIOUS: 'y'.repeat(40) };
    const a = signingKeysFromEnv(env)!;
    const b = signingKeysFromEnv(env)!;
    assert.equal(a.current.id, b.current.id);
    assert.equal(a.previous.length, 1);
    assert.throws(() => signingKeysFromEnv({ BERTH_TOKEN_SECRET: 'short' }), /at least 32 bytes/);
  });

  it('tokens living longer than Berth issues are refused, even correctly signed', async () => {
    const key = { id: 'k', secret: new Uint8Array(32).fill(7) };
    const tokens = new RegistryTokens({ key, service: 's', ttlSeconds: 900 });
    const now = new Date();
    const iat = Math.floor(now.getTime() / 1000);
    const forged = await new SignJWT({ access: [], amr: 'htpasswd' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k' })
      .setIssuer('berth')
      .setAudience('s')
      .setSubject('carol')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 10 * 365 * 86_400)
      .sign(key.secret);
    assert.equal(await tokens.verify(forged, now), undefined);
    const normal = await tokens.issue(subject, [], now);
    assert.ok(await tokens.verify(normal.token, now));
  });
});
