/**
 * Soak test (issue 11; not run in CI): mixed load from 32 clients for 10 minutes by default —
 * image pushes (with an API key), pulls (manifest and layer), `_catalog`, wrong passwords, web UI
 * pages and UI API calls — against one Berth process. Reports errors (goal 0: any status other
 * than the expected one, or a failed connection), p99 latency per route, and the server's RSS
 * growth from the end of warm-up to the end (goal < 10%).
 *
 * To tell a leak from warm-up it also samples the server's V8 heap (`/metrics`, prom-client's
 * `nodejs_heap_size_used_bytes` after the same requests) and the metadata database's size, and
 * prints RSS and heap at warm-up, half-time and the end: a leak keeps growing in the second half,
 * warm-up (SQLite's page cache filling as the database grows, allocator arenas) levels off.
 *
 *   node dist/bench/soak.js [--minutes 10] [--seconds N] [--clients 32]
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';

import { META_DB_FILE } from '../src/registry/layout.js';
import { startBerth } from '../test/support/server.js';

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : Number(process.argv[i + 1]);
}

const seconds = flag('seconds') ?? (flag('minutes') ?? 10) * 60;
const clients = flag('clients') ?? 32;
const warmupSeconds = Math.min(60, Math.max(5, seconds / 10));

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

interface RouteStats {
  latencies: number[];
  errors: number;
  samples: string[];
}

const stats = new Map<string, RouteStats>();
function record(route: string, ms: number, error?: string): void {
  let s = stats.get(route);
  if (!s) stats.set(route, (s = { latencies: [], errors: 0, samples: [] }));
  s.latencies.push(ms);
  if (error !== undefined) {
    s.errors++;
    if (s.samples.length < 3) s.samples.push(error);
  }
}

/** One request, timed; `expect` lists the acceptable statuses. Returns the body. */
async function call(
  route: string,
  url: string,
  init: RequestInit,
  expect: number[],
): Promise<Buffer | undefined> {
  const started = performance.now();
  try {
    const res = await fetch(url, init);
    const body = Buffer.from(await res.arrayBuffer());
    const ms = performance.now() - started;
    if (!expect.includes(res.status)) {
      record(
        route,
        ms,
        `${init.method ?? 'GET'} ${new URL(url).pathname} → ${res.status} ${body.subarray(0, 200).toString()}`,
      );
      return undefined;
    }
    record(route, ms);
    return res.headers.get('location') !== null ? Buffer.from(res.headers.get('location')!) : body;
  } catch (err) {
    record(route, performance.now() - started, `${new URL(url).pathname}: ${(err as Error).message}`);
    return undefined;
  }
}

interface Pushed {
  repo: string;
  tag: string;
  layer: string;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'bench-soak-'));
  const file = path.join(work, 'htpasswd');
  await writeFile(file, `ci:${await bcrypt.hash('ci-secret', 10)}\n`);
  const server = await startBerth({
    config: {
      storage: {},
      log: { level: 'warn' },
      http: {
        auth: { htpasswd: { path: file }, apikey: true },
        accessControl: {
          repositories: {
            '**': { anonymousPolicy: ['read'], policies: [{ users: ['ci'], actions: ['read', 'create'] }] },
          },
          // The soak reads the server's heap from /metrics without credentials.
          metrics: { users: [''] },
        },
      },
      extensions: { ui: { enable: true }, metrics: { enable: true, prometheus: { path: '/metrics' } } },
    },
  });
  const base = server.url;
  const pid = server.proc.pid!;
  try {
    const created = await fetch(`${base}/zot/auth/apikey`, {
      method: 'POST',
      headers: { Authorization: basic('ci', 'ci-secret'), 'Content-Type': 'application/json' },
      body: '{"label":"soak"}',
    });
    if (created.status !== 201) throw new Error(`API key: ${created.status} ${await created.text()}`);
    const key = ((await created.json()) as { apiKey: string }).apiKey;
    const ci = { Authorization: basic('ci', key) };
    const pushed: Pushed[] = [];
    let pushes = 0;

    const push = async (): Promise<void> => {
      const n = ++pushes;
      const repo = `soak/app${n % 40}`;
      const tag = `t${n}`;
      const layer = randomBytes(32 * 1024 + (n % 7) * 4096);
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n }));
      for (const blob of [layer, config]) {
        const location = await call(
          'push: POST upload',
          `${base}/v2/${repo}/blobs/uploads/`,
          { method: 'POST', headers: ci },
          [202],
        );
        if (location === undefined) return;
        const url = new URL(location.toString(), base);
        url.searchParams.set('digest', sha(blob));
        const ok = await call(
          'push: PUT blob',
          url.href,
          {
            method: 'PUT',
            headers: { ...ci, 'Content-Type': 'application/octet-stream' },
            body: blob,
          },
          [201],
        );
        if (ok === undefined) return;
      }
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha(config),
          size: config.length,
        },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length },
        ],
      });
      const ok = await call(
        'push: PUT manifest',
        `${base}/v2/${repo}/manifests/${tag}`,
        {
          method: 'PUT',
          headers: { ...ci, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
          body: manifest,
        },
        [201],
      );
      if (ok !== undefined) pushed.push({ repo, tag, layer: sha(layer) });
      if (pushed.length > 500) pushed.splice(0, pushed.length - 500);
    };

    const pull = async (): Promise<void> => {
      const image = pushed[Math.floor(Math.random() * pushed.length)];
      if (image === undefined) return;
      await call(
        'pull: GET manifest',
        `${base}/v2/${image.repo}/manifests/${image.tag}`,
        {
          headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
        },
        [200],
      );
      await call('pull: GET blob', `${base}/v2/${image.repo}/blobs/${image.layer}`, {}, [200]);
    };

    let wrong = 0;
    const operations: Array<[number, () => Promise<unknown>]> = [
      [1, push],
      [4, pull],
      [2, () => call('catalog', `${base}/v2/_catalog?n=100`, {}, [200])],
      [
        1,
        () =>
          call(
            'wrong password',
            `${base}/v2/_catalog`,
            { headers: { Authorization: basic(`user${++wrong % 20}`, `guess${wrong}`) } },
            [401, 429],
          ),
      ],
      [1, () => call('ui: page', `${base}/home`, { headers: { Accept: 'text/html' } }, [200])],
      [
        1,
        () =>
          call(
            'ui: api repositories',
            `${base}/_berth/ui/api/repositories`,
            { headers: { 'X-ZOT-API-CLIENT': 'zot-ui' } },
            [200],
          ),
      ],
    ];
    const totalWeight = operations.reduce((sum, [w]) => sum + w, 0);
    const pick = (): (() => Promise<unknown>) => {
      let r = Math.random() * totalWeight;
      for (const [w, op] of operations) if ((r -= w) < 0) return op;
      return operations[0]![1];
    };

    for (let i = 0; i < 20; i++) await push();
    const started = Date.now();
    const end = started + seconds * 1000;
    let rssAfterWarmup: number | undefined;
    let rssMax = 0;
    /** [seconds, RSS KiB, heap used KiB, database KiB] every 5 s. */
    const samples: Array<[number, number, number, number]> = [];
    const heapKiB = async (): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 1024;
      if (Number.isNaN(heap)) throw new Error(`no heap size in /metrics: ${text.slice(0, 200)}`);
      return heap;
    };
    const dbKiB = (): number => {
      let total = 0;
      for (const suffix of ['', '-wal'])
        total += (() => {
          try {
            return statSync(path.join(server.root, `${META_DB_FILE}${suffix}`)).size;
          } catch {
            return 0;
          }
        })();
      return total / 1024;
    };
    const sampler = setInterval(() => {
      const rss = rssKiB(pid);
      rssMax = Math.max(rssMax, rss);
      const t = (Date.now() - started) / 1000;
      if (rssAfterWarmup === undefined && t >= warmupSeconds) rssAfterWarmup = rss;
      heapKiB()
        .then((heap) => samples.push([t, rss, heap, dbKiB()]))
        .catch((err: unknown) => console.error(`heap sample: ${(err as Error).message}`));
    }, 5_000);
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < end) await pick()();
      }),
    );
    clearInterval(sampler);
    const rssEnd = rssKiB(pid);
    const q = (sorted: number[], p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
    let errors = 0;
    let requests = 0;
    console.log(`soak: ${clients} clients for ${seconds} s; ${pushes} pushes`);
    console.log('route                    requests  errors   p50 ms   p99 ms   max ms');
    for (const [route, s] of [...stats].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      errors += s.errors;
      requests += sorted.length;
      console.log(
        `${route.padEnd(24)} ${String(sorted.length).padStart(8)} ${String(s.errors).padStart(7)} ${q(sorted, 0.5).toFixed(1).padStart(8)} ${q(sorted, 0.99).toFixed(1).padStart(8)} ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(8)}`,
      );
      for (const sample of s.samples) console.log(`    e.g. ${sample}`);
    }
    const growth = rssAfterWarmup === undefined ? NaN : ((rssEnd - rssAfterWarmup) / rssAfterWarmup) * 100;
    console.log(`requests ${requests}, errors ${errors} (goal 0)`);
    console.log(
      `RSS after ${warmupSeconds} s warm-up ${((rssAfterWarmup ?? NaN) / 1024).toFixed(1)} MiB, at end ${(rssEnd / 1024).toFixed(1)} MiB, max ${(rssMax / 1024).toFixed(1)} MiB: growth ${growth.toFixed(1)}% (goal < 10%)`,
    );
    // RSS and heap at warm-up, half-time and the end: a leak grows in both halves alike.
    const at = (t: number): [number, number, number, number] | undefined =>
      samples.find(([st]) => st >= t) ?? samples.at(-1);
    const mib = (kib: number): string => (kib / 1024).toFixed(1);
    const marks = [warmupSeconds, (warmupSeconds + seconds) / 2, seconds].map(at);
    console.log('         t s   RSS MiB  heap MiB    db MiB');
    for (const m of marks)
      if (m)
        console.log(
          `    ${m[0].toFixed(0).padStart(8)} ${mib(m[1]).padStart(9)} ${mib(m[2]).padStart(9)} ${mib(m[3]).padStart(9)}`,
        );
    const [w, h, e] = marks;
    if (w && h && e) {
      const pct = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(1)}%`;
      console.log(
        `first half: RSS ${pct(w[1], h[1])}, heap ${pct(w[2], h[2])}; second half: RSS ${pct(h[1], e[1])}, heap ${pct(h[2], e[2])}`,
      );
    }
    console.log('every minute (t s, RSS MiB, heap MiB, db MiB):');
    console.log(
      samples
        .filter((_, i) => i % 12 === 11)
        .map(([t, r, hp, d]) => `${t.toFixed(0)}:${mib(r)}/${mib(hp)}/${mib(d)}`)
        .join(' '),
    );
    const alive = server.proc.exitCode === null;
    console.log(`server ${alive ? 'alive' : `exited with ${server.proc.exitCode}`}`);
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
