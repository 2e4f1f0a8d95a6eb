/**
 * Password throttles shared by replicas (issue 10): two real `berth serve` processes, on one data
 * directory (SQLite) and on one PostgreSQL database, take wrong passwords in turn. The user's limit
 * (10 guesses a minute) and the client address's (30) are reached by the two together, not by each:
 * spreading guesses over replicas buys an attacker nothing. Once limited, even the right password
 * gets 429 on both (no oracle). PostgreSQL from test/support/services.ts (under CI=true a missing
 * PostgreSQL fails the file).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { dropSchemas, freshSchemaName } from '../support/postgres.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { postgresService } from '../support/services.js';

const TIMEOUT = { timeout: 120_000 };
/** What Berth allows (src/http/ext/auth-services.ts): guesses per user name, per client address. */
const PER_USER = 10;
const PER_ADDRESS = 30;

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

async function statusOf(server: RunningServer, user: string, password: string): Promise<number> {
  const res = await fetch(`${server.url}/v2/_catalog`, { headers: basic(user, password) });
  await res.arrayBuffer();
  return res.status;
}

const postgres = postgresService();

describe('password throttles shared by two replicas', () => {
  const servers: RunningServer[] = [];
  const cleanup: string[] = [];
  const schemas: string[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
    for (const p of cleanup) await rm(p, { recursive: true, force: true });
    if (postgres.skip === undefined) await dropSchemas(postgres.service, schemas);
  });

  async function pair(storage: Record<string, unknown>): Promise<[RunningServer, RunningServer]> {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-throttle-'));
    const htpasswd = `${root}.htpasswd`;
    cleanup.push(root, `${root}.config.json`, htpasswd);
    await writeFile(htpasswd, `carol:${await bcrypt.hash('carol-pw', 5)}\n`);
    const config = {
      storage,
      http: {
        auth: { htpasswd: { path: htpasswd } },
        accessControl: {
          repositories: { '**': { policies: [{ users: ['carol'], actions: ['read'] }] } },
        },
      },
    };
    const started = await Promise.allSettled([
      startBerth({ config, root, cleanup: false }),
      startBerth({ config, root, cleanup: false }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    return [servers.at(-2)!, servers.at(-1)!];
  }

  async function guessesSpreadOverBoth([a, b]: [RunningServer, RunningServer]): Promise<void> {
    assert.equal(await statusOf(a, 'carol', 'carol-pw'), 200);
    // Wrong passwords for carol, alternating replicas: the tenth is still checked, the eleventh is not.
    for (let i = 0; i < PER_USER; i++) {
      assert.equal(await statusOf(i % 2 === 0 ? a : b, 'carol', `guess-${i}`), 401, `guess ${i}`);
    }
    for (const server of [a, b]) {
      const res = await fetch(`${server.url}/v2/_catalog`, { headers: basic('carol', 'guess-x') });
      assert.equal(res.status, 429, 'the user limit is reached by both replicas together');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      assert.equal(await statusOf(server, 'carol', 'carol-pw'), 429, 'even the right password: no oracle');
    }
    // Other user names from the same address: the address has PER_USER guesses counted already.
    for (let i = PER_USER; i < PER_ADDRESS; i++) {
      assert.equal(await statusOf(i % 2 === 0 ? b : a, `nobody-${i}`, 'guess'), 401, `guess ${i}`);
    }
    assert.equal(await statusOf(a, 'nobody-x', 'guess'), 429, 'the address limit, reached by both');
    assert.equal(await statusOf(b, 'nobody-y', 'guess'), 429);
    for (const server of [a, b]) assert.equal(server.proc.exitCode, null);
  }

  it('SQLite: two processes on one data directory', TIMEOUT, async () => {
    await guessesSpreadOverBoth(await pair({}));
  });

  it('PostgreSQL: two replicas on one database', { ...TIMEOUT, skip: postgres.skip ?? false }, async () => {
    if (postgres.skip !== undefined) return;
    const schema = freshSchemaName();
    schemas.push(schema);
    await guessesSpreadOverBoth(
      await pair({ remoteCache: true, cacheDriver: { name: 'postgres', schema, url: postgres.service } }),
    );
  });
});
