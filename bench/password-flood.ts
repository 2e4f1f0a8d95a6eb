/**
 * Anonymous `_catalog` latency while wrong passwords flood in (issue 11 item 6): 800 wrong
 * passwords (bcrypt cost 10) at 32 at a time, each from a different client behind a trusted
 * proxy so the per-address throttle does not stop them early, while one anonymous client lists
 * the catalog in a loop. Reports median and p99 of the catalog requests alone, then during the
 * flood. A benchmark, not a test: `node dist/bench/password-flood.js [--attempts N]`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';

import { startBerth } from '../test/support/server.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `n=${sorted.length} median=${quantile(sorted, 0.5).toFixed(1)} ms p99=${quantile(sorted, 0.99).toFixed(1)} ms`;
}

async function timedCatalog(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${url}/v2/_catalog`);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`catalog answered ${res.status}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const attempts = flag('attempts', 800);
  const concurrency = flag('concurrency', 32);
  const work = await mkdtemp(path.join(tmpdir(), 'bench-password-flood-'));
  const file = path.join(work, 'htpasswd');
  await writeFile(file, `alice:${await bcrypt.hash('alice-secret', 10)}\n`);
  const server = await startBerth({
    config: {
      storage: {},
      log: { level: 'warn' },
      http: {
        trustedProxies: ['127.0.0.1'],
        auth: { htpasswd: { path: file } },
        accessControl: { repositories: { '**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] } } },
      },
    },
  });
  try {
    for (let i = 0; i < 20; i++) await timedCatalog(server.url); // warm-up
    const quiet: number[] = [];
    for (let i = 0; i < 200; i++) quiet.push(await timedCatalog(server.url));

    let sent = 0;
    const statuses = new Map<number, number>();
    const flooding = Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < attempts) {
          const n = sent++;
          const res = await fetch(`${server.url}/v2/`, {
            headers: {
              Authorization: `Basic ${Buffer.from(`user${n % 50}:wrong-${n}`).toString('base64')}`,
              'X-Forwarded-For': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
            },
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    let done = false;
    void flooding.finally(() => (done = true));
    const loaded: number[] = [];
    const started = performance.now();
    while (!done) loaded.push(await timedCatalog(server.url));
    const seconds = (performance.now() - started) / 1000;
    await flooding;
    console.log(`anonymous _catalog, quiet:              ${summary(quiet)}`);
    console.log(`anonymous _catalog, during the flood:   ${summary(loaded)}`);
    console.log(
      `flood: ${attempts} wrong passwords at ${concurrency} concurrent in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
