/**
 * Forwarded headers (`X-Forwarded-For`, `Forwarded`) are believed only from the addresses in
 * `http.trustedProxies` (none by default). The per-address password throttle (30 failures a
 * minute) shows which address Berth took as the client's: with no trusted proxy, varying the
 * header cannot spread guesses over addresses; with one, the header names the client, but only
 * on connections from that proxy.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { startBerth, type RunningServer } from '../support/server.js';

let work: string;
let file: string;
const servers: RunningServer[] = [];

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'e2e-trusted-proxies-'));
  file = path.join(work, 'htpasswd');
  await writeFile(file, `carol:${await bcrypt.hash('carol-secret', 4)}\n`);
});
after(async () => {
  for (const s of servers) await s.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

async function start(trustedProxies?: string[]): Promise<RunningServer> {
  const http: Record<string, unknown> = {
    auth: { htpasswd: { path: file } },
    accessControl: { repositories: { '**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] } } },
  };
  if (trustedProxies !== undefined) http.trustedProxies = trustedProxies;
  const server = await startBerth({ config: { storage: {}, http } });
  servers.push(server);
  return server;
}

let attempt = 0;
/** One wrong password for a fresh user name (so only the address bucket fills). */
async function wrongPassword(server: RunningServer, headers: Record<string, string>): Promise<number> {
  const user = `nobody${++attempt}`;
  const res = await fetch(`${server.url}/v2/`, {
    headers: { Authorization: `Basic ${Buffer.from(`${user}:wrong`).toString('base64')}`, ...headers },
  });
  await res.arrayBuffer();
  return res.status;
}

/** Statuses of `n` wrong passwords, header i from `headerFor(i)`. */
async function guesses(
  server: RunningServer,
  n: number,
  headerFor: (i: number) => Record<string, string>,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push(await wrongPassword(server, headerFor(i)));
  return statuses;
}

describe('forwarded headers', () => {
  it('with no trusted proxy, a varying X-Forwarded-For does not spread guesses over addresses', async () => {
    const server = await start();
    const statuses = await guesses(server, 32, (i) => ({ 'X-Forwarded-For': `203.0.113.${i + 1}` }));
    assert.ok(statuses.includes(429), `never throttled: ${statuses.join(' ')}`);
  });

  it('with no trusted proxy, Forwarded: for= is ignored too', async () => {
    const server = await start();
    const statuses = await guesses(server, 32, (i) => ({ Forwarded: `for=203.0.113.${i + 1}` }));
    assert.ok(statuses.includes(429), `never throttled: ${statuses.join(' ')}`);
  });

  it('with no trusted proxy, a guesser cannot lock another address out through the header', async () => {
    const server = await start();
    await guesses(server, 32, () => ({ 'X-Forwarded-For': '198.51.100.7' }));
    // The guesser's own address (loopback) is now limited, whatever header it sends.
    assert.equal(await wrongPassword(server, { 'X-Forwarded-For': '198.51.100.8' }), 429);
  });

  it('from a trusted proxy, the address it appended is the client: one client is limited, another is not', async () => {
    const server = await start(['127.0.0.1']);
    const limited = await guesses(server, 32, () => ({ 'X-Forwarded-For': '198.51.100.7' }));
    assert.equal(limited.at(-1), 429, limited.join(' '));
    assert.equal(await wrongPassword(server, { 'X-Forwarded-For': '198.51.100.8' }), 401);
    // The right-most entry counts: what a client wrote before the proxy's own entry changes nothing.
    assert.equal(await wrongPassword(server, { 'X-Forwarded-For': '198.51.100.8, 198.51.100.7' }), 429);
    assert.equal(await wrongPassword(server, { Forwarded: 'for=198.51.100.7' }), 429);
  });

  it('a proxy range that does not contain the peer is not trusted', async () => {
    const server = await start(['10.0.0.0/8']);
    const statuses = await guesses(server, 32, (i) => ({ 'X-Forwarded-For': `203.0.113.${i + 1}` }));
    assert.ok(statuses.includes(429), `never throttled: ${statuses.join(' ')}`);
  });
});
