/**
 * The token signing secret at rest (issue 11, item 10): a real server signs a user in, issues a
 * token and a session, and is stopped; then no file of the data directory but the 0600 key file
 * holds the secret (in any encoding), so the metadata database — and a backup that leaves the key
 * file out (docs/operations.md, Backups) — cannot mint tokens. With `BERTH_TOKEN_SECRET` set, no
 * file holds it at all.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { SIGNING_KEY_FILE } from '../../src/auth/tokens/signing-keys.js';
import { META_DIR } from '../../src/registry/layout.js';
import { startBerth } from '../support/server.js';

const TIMEOUT = { timeout: 60_000 };

/** Every encoding a secret might be written in. */
function encodings(secret: Buffer): Buffer[] {
  const texts = (['base64url', 'base64', 'hex'] as const).map((e) => Buffer.from(secret.toString(e)));
  return [...texts, secret];
}

/** Files under `dir` (recursively) whose bytes contain `secret` in some encoding. */
async function filesHolding(dir: string, secret: Buffer): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = await readFile(file);
    if (encodings(secret).some((e) => bytes.includes(e))) found.push(path.relative(dir, file));
  }
  return found.sort();
}

describe('the token signing secret at rest', () => {
  const cleanup: string[] = [];
  after(async () => {
    for (const p of cleanup) await rm(p, { recursive: true, force: true });
  });

  async function signInAndStop(env: Record<string, string>): Promise<string> {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-keyrest-'));
    const htpasswd = `${root}.htpasswd`;
    cleanup.push(root, `${root}.config.json`, htpasswd);
    await writeFile(htpasswd, `carol:${await bcrypt.hash('carol-pw', 5)}\n`);
    const server = await startBerth({
      root,
      cleanup: false,
      env,
      config: {
        http: {
          auth: { htpasswd: { path: htpasswd }, apikey: true },
          accessControl: { repositories: { '**': { policies: [{ users: ['carol'], actions: ['read'] }] } } },
        },
      },
    });
    try {
      const auth = { Authorization: `Basic ${Buffer.from('carol:carol-pw').toString('base64')}` };
      const token = await fetch(`${server.url}/zot/auth/token?service=berth&scope=repository:a:pull`, {
        headers: auth,
      });
      assert.equal(token.status, 200);
      const { token: jwt } = (await token.json()) as { token: string };
      const catalog = await fetch(`${server.url}/v2/_catalog`, {
        headers: { Authorization: `Bearer ${jwt}` },
      });
      assert.equal(catalog.status, 200);
    } finally {
      await server.stop();
    }
    return root;
  }

  it('only the 0600 key file holds it; the metadata database never does', TIMEOUT, async () => {
    const root = await signInAndStop({});
    const keyFile = path.join(root, META_DIR, SIGNING_KEY_FILE);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const { keys } = JSON.parse(await readFile(keyFile, 'utf8')) as { keys: { secret: string }[] };
    const secret = Buffer.from(keys[0]!.secret, 'base64url');
    assert.equal(secret.length, 32);
    assert.deepEqual(await filesHolding(root, secret), [path.join(META_DIR, SIGNING_KEY_FILE)]);
  });

  it('with BERTH_TOKEN_SECRET, no file of the data directory holds it', TIMEOUT, async () => {
    const secret = Buffer.from('an-operator-secret-of-at-least-32-bytes!!');
    const root = await signInAndStop({ BERTH_TOKEN_SECRET: secret.toString() });
    assert.deepEqual(await filesHolding(root, secret), []);
  });
});
