/**
 * Soak test (issue 11; not run in CI): mixed load from 32 clients for 10 minutes by default —
 * image pushes (with an API key), pulls (manifest and layer), `_catalog`, wrong passwords, web UI
 * pages and UI API calls — against one Berth process. Reports errors (goal 0: any status other
 * than the expected one, or a failed connection), p99 latency per route, and the server's RSS
 * growth over the second half (goal < 10%).
 *
 * The data set is bounded, as a long-lived registry's is: pushes rotate over a fixed set of tags
 * (`--repos` repositories × `--tags` tags), each push overwrites a tag and then deletes the manifest
 * the tag pointed to before, and garbage collection sweeps every minute (`gcDelay` 2m) to remove
 * the blobs no manifest uses any more. So the store and the metadata database reach a steady size
 * and any memory that still grows is not explained by the data.
 *
 * RSS growth: RSS at the end against RSS at half time; the first half is the warm-up (V8 sizing
 * its heap, SQLite's page cache and the allocator's arenas filling). The server's own memory is
 * read from inside it by `bench/soak-probe.ts` (preloaded into that process only): RSS, heap used,
 * heap total, external and array buffers, every 5 s, beside the database's and the store's size.
 * Beside the two single samples it prints the medians of the minute before half time and of the
 * last minute (one sample catches V8's heap anywhere in its collection cycle), and at the end the
 * database's largest tables (rows, bytes).
 * With `--snapshots DIR` it takes a V8 heap snapshot at half time (after the half-time sample, so
 * the snapshot's own memory counts against the second half, never for it) and one at the end, and
 * compares them by constructor (`bench/soak-heap-compare.ts`).
 *
 *   node dist/bench/soak.js [--minutes 10] [--seconds N] [--clients 32] [--repos 40] [--tags 5]
 *                           [--snapshots DIR] [--arena N]   (N: MALLOC_ARENA_MAX for the server)
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import Database from 'better-sqlite3';

import { META_DB_FILE } from '../src/registry/layout.js';
import { startBerth } from '../test/support/server.js';
import { formatComparison, summarizeSnapshot } from './soak-heap-compare.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const numberFlag = (name: string): number | undefined =>
  flag(name) === undefined ? undefined : Number(flag(name));

const seconds = numberFlag('seconds') ?? (numberFlag('minutes') ?? 10) * 60;
const clients = numberFlag('clients') ?? 32;
const repos = numberFlag('repos') ?? 40;
const tagsPerRepo = numberFlag('tags') ?? 5;
const snapshotDir = flag('snapshots') === undefined ? undefined : path.resolve(flag('snapshots')!);
const arena = flag('arena');
const warmupSeconds = Math.min(60, Math.max(5, seconds / 10));
const PROBE = fileURLToPath(new URL('./soak-probe.js', import.meta.url));

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

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

interface Reply {
  status: number;
  location: string | null;
  body: Buffer;
}

/** One request, timed; `expect` lists the acceptable statuses. Undefined on any other outcome. */
async function call(
  route: string,
  url: string,
  init: RequestInit,
  expect: number[],
): Promise<Reply | undefined> {
  const started = performance.now();
  try {
    const res = await fetch(url, init);
    const body = Buffer.from(await res.arrayBuffer());
    const ms = performance.now() - started;
    if (!expect.includes(res.status)) {
      const what = `${init.method ?? 'GET'} ${new URL(url).pathname} → ${res.status}`;
      record(route, ms, `${what} ${body.subarray(0, 200).toString()}`);
      return undefined;
    }
    record(route, ms);
    return { status: res.status, location: res.headers.get('location'), body };
  } catch (err) {
    record(route, performance.now() - started, `${new URL(url).pathname}: ${(err as Error).message}`);
    return undefined;
  }
}

/** One tag the pushes rotate over, and the manifest it points to now. */
interface Slot {
  repo: string;
  tag: string;
  digest?: string;
}

/** One line of the probe's file: a memory sample, or a snapshot written. */
interface ProbeLine {
  at: number;
  rss?: number;
  heapTotal?: number;
  heapUsed?: number;
  external?: number;
  arrayBuffers?: number;
  rssAnon?: number;
  rssFile?: number;
  snapshot?: string;
  ms?: number;
}

interface MemorySample {
  /** Seconds since the load started. */
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rssAnon: number;
  rssFile: number;
  /** Metadata database with its WAL, the WAL alone, and the whole storage root, in bytes. */
  db: number;
  wal: number;
  store: number;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function treeSize(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return 0;
  }
  for (const entry of entries) {
    try {
      const st = statSync(path.join(dir, entry));
      if (st.isFile()) total += st.size;
    } catch {
      // removed by GC meanwhile
    }
  }
  return total;
}

function readProbe(file: string): ProbeLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ProbeLine);
}

/** Rows and bytes per table and index of the metadata database (SQLite's dbstat), largest first. */
function databaseBreakdown(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const pages = db
      .prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 12')
      .all() as Array<{ name: string; bytes: number }>;
    const tables = new Set(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[],
    );
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const lines = pages.map(({ name, bytes }) => {
      const rows = tables.has(name)
        ? String(db.prepare(`SELECT COUNT(*) FROM "${name}"`).pluck().get())
        : '(index)';
      return `  ${name.padEnd(32)} ${rows.padStart(9)} rows ${(bytes / 1048576).toFixed(2).padStart(7)} MiB`;
    });
    lines.push(`  free pages: ${free}`);
    return lines.join('\n');
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'bench-soak-'));
  const file = path.join(work, 'htpasswd');
  const probeFile = path.join(work, 'probe.jsonl');
  if (snapshotDir !== undefined) mkdirSync(snapshotDir, { recursive: true });
  await writeFile(file, `ci:${await bcrypt.hash('ci-secret', 10)}\n`);
  const server = await startBerth({
    config: {
      storage: {
        // A sweep every minute, blobs unreferenced for 2 minutes removed. Manifests are deleted by
        // the clients themselves; retention keeps every tag and untagged manifest so that a sweep
        // never races a client's own delete.
        gc: true,
        gcDelay: '2m',
        gcInterval: '1m',
        retention: { policies: [{ repositories: ['**'], deleteUntagged: false }] },
      },
      log: { level: 'warn' },
      http: {
        auth: { htpasswd: { path: file }, apikey: true },
        accessControl: {
          repositories: {
            '**': {
              anonymousPolicy: ['read'],
              policies: [{ users: ['ci'], actions: ['read', 'create', 'update', 'delete'] }],
            },
          },
          metrics: { users: [''] },
        },
      },
      extensions: { ui: { enable: true }, metrics: { enable: true, prometheus: { path: '/metrics' } } },
    },
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${PROBE}`.trim(),
      SOAK_PROBE_FILE: probeFile,
      ...(snapshotDir !== undefined ? { SOAK_PROBE_SNAPSHOT_DIR: snapshotDir } : {}),
      ...(arena !== undefined ? { MALLOC_ARENA_MAX: arena } : {}),
    },
  });
  const base = server.url;
  const pid = server.proc.pid!;
  const dbFile = path.join(server.root, META_DB_FILE);
  try {
    const created = await fetch(`${base}/zot/auth/apikey`, {
      method: 'POST',
      headers: { Authorization: basic('ci', 'ci-secret'), 'Content-Type': 'application/json' },
      body: '{"label":"soak"}',
    });
    if (created.status !== 201) throw new Error(`API key: ${created.status} ${await created.text()}`);
    const key = ((await created.json()) as { apiKey: string }).apiKey;
    const ci = { Authorization: basic('ci', key) };

    const slots: Slot[] = [];
    for (let r = 0; r < repos; r++)
      for (let t = 0; t < tagsPerRepo; t++) slots.push({ repo: `soak/app${r}`, tag: `v${t}` });
    let pushes = 0;
    let deletes = 0;

    /** Pushes a new image onto `slot`'s tag, then deletes the manifest the tag pointed to before. */
    const push = async (slot: Slot): Promise<void> => {
      const n = ++pushes;
      const layer = randomBytes(32 * 1024 + (n % 7) * 4096);
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n }));
      for (const blob of [layer, config]) {
        const started = await call(
          'push: POST upload',
          `${base}/v2/${slot.repo}/blobs/uploads/`,
          { method: 'POST', headers: ci },
          [202],
        );
        if (started?.location == null) return;
        const url = new URL(started.location, base);
        url.searchParams.set('digest', sha(blob));
        const init = {
          method: 'PUT',
          headers: { ...ci, 'Content-Type': 'application/octet-stream' },
          body: blob,
        };
        if ((await call('push: PUT blob', url.href, init, [201])) === undefined) return;
      }
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha(config),
          size: config.length,
        },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length },
        ],
      });
      const put = await call(
        'push: PUT manifest',
        `${base}/v2/${slot.repo}/manifests/${slot.tag}`,
        { method: 'PUT', headers: { ...ci, 'Content-Type': MANIFEST_TYPE }, body: manifest },
        [201],
      );
      if (put === undefined) return;
      const previous = slot.digest;
      slot.digest = sha(manifest);
      if (previous === undefined || previous === slot.digest) return;
      deletes++;
      await call(
        'push: DELETE old manifest',
        `${base}/v2/${slot.repo}/manifests/${previous}`,
        { method: 'DELETE', headers: ci },
        [202],
      );
    };

    /** Pulls a tag as a client does: the manifest by tag, then the layer it names. */
    const pull = async (): Promise<void> => {
      const slot = slots[Math.floor(Math.random() * slots.length)]!;
      if (slot.digest === undefined) return;
      const got = await call(
        'pull: GET manifest',
        `${base}/v2/${slot.repo}/manifests/${slot.tag}`,
        { headers: { Accept: MANIFEST_TYPE } },
        [200],
      );
      if (got === undefined) return;
      const layer = (JSON.parse(got.body.toString()) as { layers: Array<{ digest: string }> }).layers[0]!
        .digest;
      await call('pull: GET blob', `${base}/v2/${slot.repo}/blobs/${layer}`, {}, [200]);
    };

    let wrong = 0;
    /** Each client pushes only onto its own slots, so two pushes never race on one tag. */
    const operations = (own: Slot[]): Array<[number, () => Promise<unknown>]> => {
      let next = 0;
      return [
        [1, () => (own.length === 0 ? pull() : push(own[next++ % own.length]!))],
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
    };
    const picker = (own: Slot[]): (() => Promise<unknown>) => {
      const ops = operations(own);
      const totalWeight = ops.reduce((sum, [w]) => sum + w, 0);
      return () => {
        let r = Math.random() * totalWeight;
        for (const [w, op] of ops) if ((r -= w) < 0) return op();
        return ops[0]![1]();
      };
    };

    // Every tag exists before the load starts, so pulls never meet a missing one.
    for (let i = 0; i < slots.length; i += 8) await Promise.all(slots.slice(i, i + 8).map(push));
    const started = Date.now();
    const end = started + seconds * 1000;
    const half = started + (seconds * 1000) / 2;

    /** Database and store sizes every 5 s, joined with the probe's memory samples at the end. */
    const sizes: Array<{ at: number; db: number; wal: number; store: number }> = [];
    const sizer = setInterval(() => {
      sizes.push({
        at: Date.now(),
        db: fileSize(dbFile) + fileSize(`${dbFile}-wal`),
        wal: fileSize(`${dbFile}-wal`),
        store: treeSize(server.root),
      });
    }, 5_000);

    const snapshots: string[] = [];
    let midSignalAt: number | undefined;
    const snapshot = async (): Promise<void> => {
      if (snapshotDir === undefined) return;
      const before = readProbe(probeFile).filter((l) => l.snapshot !== undefined).length;
      midSignalAt ??= Date.now();
      process.kill(pid, 'SIGUSR2');
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const written = readProbe(probeFile).filter((l) => l.snapshot !== undefined);
        if (written.length > before) {
          const last = written.at(-1)!;
          snapshots.push(last.snapshot!);
          console.log(`heap snapshot ${last.snapshot} (server paused ${last.ms} ms)`);
          return;
        }
      }
    };
    // Half time: the probe's last sample before the snapshot is the half-time mark.
    const midSnapshot = new Promise<void>((resolve) =>
      setTimeout(() => void snapshot().then(resolve, resolve), half + 1_000 - Date.now()),
    );
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const pick = picker(slots.filter((_, s) => s % clients === c));
        while (Date.now() < end) await pick();
      }),
    );
    clearInterval(sizer);
    await midSnapshot;
    await snapshot();

    const q = (sorted: number[], p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
    let errors = 0;
    let requests = 0;
    console.log(
      `soak: ${clients} clients for ${seconds} s; ${pushes} pushes onto ${slots.length} tags in ${repos} repositories, ${deletes} manifests deleted`,
    );
    console.log('route                       requests  errors   p50 ms   p99 ms   max ms');
    for (const [route, s] of [...stats].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      errors += s.errors;
      requests += sorted.length;
      console.log(
        `${route.padEnd(27)} ${String(sorted.length).padStart(8)} ${String(s.errors).padStart(7)} ${q(sorted, 0.5).toFixed(1).padStart(8)} ${q(sorted, 0.99).toFixed(1).padStart(8)} ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(8)}`,
      );
      for (const sample of s.samples) console.log(`    e.g. ${sample}`);
    }
    console.log(`requests ${requests}, errors ${errors} (goal 0)`);

    // Memory: the probe's samples (taken inside the server), with the sizes nearest in time.
    const probe = readProbe(probeFile);
    const samples: MemorySample[] = probe
      .filter((l) => l.rss !== undefined && l.at >= started)
      .map((l) => {
        const size = sizes.reduce<(typeof sizes)[number] | undefined>(
          (best, s) => (best === undefined || Math.abs(s.at - l.at) < Math.abs(best.at - l.at) ? s : best),
          undefined,
        );
        return {
          t: (l.at - started) / 1000,
          rss: l.rss!,
          heapUsed: l.heapUsed!,
          heapTotal: l.heapTotal!,
          external: l.external!,
          arrayBuffers: l.arrayBuffers!,
          rssAnon: l.rssAnon!,
          rssFile: l.rssFile!,
          db: size?.db ?? NaN,
          wal: size?.wal ?? NaN,
          store: size?.store ?? NaN,
        };
      });
    // Half time: the last sample before the mid-run snapshot was asked for (or half time itself).
    const mid = Math.min(midSignalAt ?? half, half + 1_000) - 1;
    const lastBefore = (at: number): MemorySample | undefined =>
      samples.filter((s) => s.t * 1000 + started <= at).at(-1);
    const marks: Array<[string, MemorySample | undefined]> = [
      ['warm-up', samples.find((s) => s.t >= warmupSeconds)],
      ['half', lastBefore(mid)],
      ['end', lastBefore(end)],
    ];
    const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);
    const columns = (s: MemorySample): string =>
      [s.rss, s.rssAnon, s.rssFile, s.heapUsed, s.heapTotal, s.external, s.arrayBuffers, s.db, s.wal, s.store]
        .map((v) => mib(v).padStart(8))
        .join(' ');
    const header = `${'t s'.padStart(14)}      RSS  RSSanon  RSSfile heapUsed heapTotl external arrayBuf       db      wal    store   (MiB)`;
    console.log(header);
    for (const [name, m] of marks)
      if (m) console.log(`${name.padEnd(8)}${m.t.toFixed(0).padStart(6)} ${columns(m)}`);
    const [w, h, e] = marks.map(([, m]) => m);
    if (w && h && e) {
      const pct = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(1)}%`;
      console.log(
        `RSS growth, second half (end vs. half time): ${pct(h.rss, e.rss)} (goal < 10%); from warm-up (${warmupSeconds} s) to end: ${pct(w.rss, e.rss)}`,
      );
      console.log(
        `second half: RSS anon ${pct(h.rssAnon, e.rssAnon)}, RSS file ${pct(h.rssFile, e.rssFile)}, heap used ${pct(h.heapUsed, e.heapUsed)}, heap total ${pct(h.heapTotal, e.heapTotal)}, external ${pct(h.external, e.external)}, array buffers ${pct(h.arrayBuffers, e.arrayBuffers)}, db ${pct(h.db, e.db)}, store ${pct(h.store, e.store)}`,
      );
    }
    // One sample at each mark catches V8's heap wherever its collection cycle happens to be (heap
    // total swings by 50 MiB within seconds): the medians of a minute of samples (every 5 s) on
    // either side say the same with less noise. RSS minus V8's heap total is the native side
    // (SQLite's page cache, malloc arenas, buffers).
    const inWindow = (to: number): MemorySample[] =>
      samples.filter((s) => s.t * 1000 + started > to - 60_000 && s.t * 1000 + started <= to);
    const median = (values: number[]): number => {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)] ?? NaN;
    };
    const [before, last] = [inWindow(mid), inWindow(end)];
    if (before.length > 0 && last.length > 0) {
      const change = (f: (m: MemorySample) => number): string => {
        const [a, b] = [median(before.map(f)), median(last.map(f))];
        return `${mib(a)} → ${mib(b)} MiB (${(((b - a) / a) * 100).toFixed(1)}%)`;
      };
      console.log(
        `medians, the minute before half time → the last minute (${before.length} and ${last.length} samples): RSS ${change((m) => m.rss)}; RSS − heap total ${change((m) => m.rss - m.heapTotal)}; heap used ${change((m) => m.heapUsed)}; db ${change((m) => m.db)}`,
      );
    }
    console.log('every 30 s:');
    console.log(header);
    for (const s of samples.filter((_, i) => i % 6 === 5))
      console.log(`${''.padEnd(8)}${s.t.toFixed(0).padStart(6)} ${columns(s)}`);
    console.log('metadata database at the end, largest tables and indexes (read-only look from the bench):');
    console.log(databaseBreakdown(dbFile));
    const alive = server.proc.exitCode === null;
    console.log(`server ${alive ? 'alive' : `exited with ${server.proc.exitCode}`}`);

    if (snapshots.length === 2) {
      console.log(`heap snapshots compared (A: half time, B: end), shallow sizes:`);
      console.log(formatComparison(summarizeSnapshot(snapshots[0]!), summarizeSnapshot(snapshots[1]!)));
    }
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
