/**
 * Swapped credentials (issue 11 item 11): `-u zak_<key>:ci` puts an API key where the user name
 * goes. Neither the server log nor the audit log may then contain the key — nor a JWT or another
 * long high-entropy string sent as a user name — and logged user names are capped at 64 characters.
 * Real server, its real stdout and audit file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { startBerth, type RunningServer } from '../support/server.js';

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

describe('user names shaped like credentials stay out of the logs', () => {
  let berth: RunningServer;
  let work: string;
  let auditFile: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-log-hygiene-'));
    const file = path.join(work, 'htpasswd');
    auditFile = path.join(work, 'audit.log');
    await writeFile(file, `ci:${await bcrypt.hash('ci-secret', 4)}\n`);
    berth = await startBerth({
      config: {
        storage: {},
        log: { level: 'debug', audit: auditFile },
        http: {
          auth: { htpasswd: { path: file }, apikey: true },
          accessControl: { repositories: { '**': { defaultPolicy: ['read', 'create'] } } },
        },
      },
    });
  });
  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('logs neither a swapped key, a JWT, nor a random secret as a user name, and caps names at 64', async () => {
    const created = await fetch(`${berth.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { ...basic('ci', 'ci-secret'), 'Content-Type': 'application/json' },
      body: '{"label":"ci"}',
    });
    assert.equal(created.status, 201);
    const key = ((await created.json()) as { apiKey: string }).apiKey;
    const jwt = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"sub":"ci","exp":9999999999}').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    const secret = randomBytes(24).toString('base64url');
    const long = `a${'b'.repeat(200)}`;
    for (const user of [key, jwt, secret, long]) {
      for (const url of [`${berth.url}/v2/_catalog`, `${berth.url}/zot/auth/token?scope=repository:x:pull`]) {
        const res = await fetch(url, { headers: basic(user, 'ci') });
        await res.arrayBuffer();
        assert.equal(res.status, 401);
      }
    }
    await sleep(200);
    const logs = `${berth.output()}\n${await readFile(auditFile, 'utf8')}`;
    assert.ok(logs.includes('auth.signin-failed'), 'the refusals are audited');
    for (const [what, value] of [
      ['API key', key],
      ['API key hex', key.slice(4)],
      ['JWT', jwt],
      ['JWT payload', jwt.split('.')[1]!],
      ['random secret', secret],
      ['201-character name', long],
    ] as const) {
      assert.ok(!logs.includes(value), `the ${what} was logged`);
    }
    assert.ok(logs.includes(long.slice(0, 60)), 'a long, ordinary name is logged, capped');
  });
});
