/**
 * `GET /v2/_catalog?n=100` with 100,000 repositories, over HTTP on Berth replicas on S3 (Ceph RGW)
 * + PostgreSQL: through one replica directly, and through three replicas behind the round-robin
 * proxy. A benchmark, never a test.
 *
 *   node dist/bench/replicas-catalog.js [--repos 100000] [--pages 200] [--walks 1] [--json FILE]
 *
 * The repositories are seeded cheaply, not by 100,000 pushes: one manifest and one tag each,
 * recorded through the metadata store's port (`RegistryIndex.recordManifest`, what a manifest push
 * records) into the PostgreSQL schema the replicas then serve, 16 at a time. The catalog reads
 * only those rows, so no blob needs to exist in the bucket; garbage collection is off
 * (`storage.gc: false`), as it would rightly remove manifests whose bytes are not in the bucket.
 * Then, per setup: `--pages` first pages
 * (`?n=100`) and `--pages` middle pages (`?n=100&last=<the middle repository>`), one at a time on
 * a keep-alive connection, and `--walks` full walks following the `Link` header to the end (1,000
 * pages). Reported per kind: p50 / p95 ms per page, and the CPU the Berth processes (all replicas)
 * spent per page, from /proc (bench/memory.ts); PostgreSQL's own CPU is not counted.
 * Engines from BERTH_TEST_S3_* / BERTH_TEST_POSTGRES_URL, or started here
 * (test/support/services.ts).
 */
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openPostgresStore } from '../src/meta/postgres/store.js';
import type { ManifestRecord } from '../src/meta/registry-index.js';
import { freshStore, removeStore, startCluster, type ClusterStore } from '../test/support/replicas.js';
import { postgresService, s3Service } from '../test/support/services.js';
import { ProcessWatch } from './memory.js';

const { values } = parseArgs({
  options: {
    repos: { type: 'string', default: '100000' },
    pages: { type: 'string', default: '200' },
    walks: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const repos = Number(values.repos);
const pages = Number(values.pages);
const walks = Number(values.walks);
const PAGE = 100;

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
// 1,000 namespaces of 100 repositories: names as an organisation's registry has them.
const repoName = (i: number): string => `team-${String(i % 1000).padStart(3, '0')}/app-${i}`;

/** Records one manifest and its `latest` tag per repository, as pushes would have. */
async function seed(store: ClusterStore): Promise<number> {
  const started = performance.now();
  const opened = await openPostgresStore({ url: store.postgresUrl, schema: store.schema, poolSize: 16 });
  try {
    const index = opened.meta.registryIndex;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < repos; i = next++) {
          const record: ManifestRecord = {
            repo: repoName(i),
            digest: digest(i * 3),
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            size: 700,
            artifactType: 'application/vnd.oci.image.config.v1+json',
            subject: null,
            annotations: null,
            pushedAt: Date.now(),
            references: [digest(i * 3 + 1), digest(i * 3 + 2)],
          };
          await index.recordManifest(record, ['latest'], `seed-${i}`);
        }
      }),
    );
  } finally {
    await opened.meta.close();
  }
  return (performance.now() - started) / 1000;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One catalog page: its repositories and the next page's path (from `Link`), if any. */
function getPage(url: string): Promise<{ repositories: string[]; next: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${url}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
          return;
        }
        const link = res.headers.link;
        const next = typeof link === 'string' ? /^<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { repositories: string[] };
        resolve({ repositories: body.repositories, next });
      });
    });
    req.on('error', reject);
  });
}

interface Figures {
  pages: number;
  p50Ms: number;
  p95Ms: number;
  /** CPU ms of all Berth processes of the setup, per page. */
  cpuMsPerPage: number;
  /** A full walk only: seconds from the first page to the last. */
  walkSeconds?: number;
}

function percentile(sorted: number[], q: number): number {
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2));
}

/** Runs `work` (which returns per-page ms) while watching the CPU of `pids`. */
async function measured(pids: number[], work: () => Promise<number[]>): Promise<Figures> {
  const watches = pids.map((pid) => new ProcessWatch(pid));
  for (const w of watches) w.start();
  const started = performance.now();
  const samples = await work();
  const elapsed = (performance.now() - started) / 1000;
  const cpuSeconds = watches.reduce((sum, w) => sum + w.stop().cpuSeconds, 0);
  samples.sort((a, b) => a - b);
  return {
    pages: samples.length,
    p50Ms: percentile(samples, 0.5),
    p95Ms: percentile(samples, 0.95),
    cpuMsPerPage: Number(((cpuSeconds * 1000) / samples.length).toFixed(2)),
    walkSeconds: Number(elapsed.toFixed(2)),
  };
}

async function repeated(url: string, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const page = await getPage(url);
    samples.push(performance.now() - start);
    if (page.repositories.length !== PAGE) throw new Error(`${url}: ${page.repositories.length} rows`);
  }
  return samples;
}

async function walk(base: string): Promise<{ samples: number[]; seen: number }> {
  const samples: number[] = [];
  let seen = 0;
  let previous = '';
  let next: string | undefined = `/v2/_catalog?n=${PAGE}`;
  while (next !== undefined) {
    const start = performance.now();
    const page = await getPage(base + next);
    samples.push(performance.now() - start);
    for (const repo of page.repositories) {
      if (repo <= previous) throw new Error(`catalog out of order: ${previous} then ${repo}`);
      previous = repo;
    }
    seen += page.repositories.length;
    next = page.next;
  }
  return { samples, seen };
}

async function bench(name: string, base: string, pids: number[]): Promise<Record<string, unknown>> {
  const middle = encodeURIComponent(repoName(Math.floor(repos / 2)));
  // Warm-up: connections, prepared plans, the JIT.
  await repeated(`${base}/v2/_catalog?n=${PAGE}`, 20);
  const first = await measured(pids, () => repeated(`${base}/v2/_catalog?n=${PAGE}`, pages));
  const middlePage = await measured(pids, () =>
    repeated(`${base}/v2/_catalog?n=${PAGE}&last=${middle}`, pages),
  );
  delete first.walkSeconds;
  delete middlePage.walkSeconds;
  const fullWalks: Figures[] = [];
  for (let i = 0; i < walks; i++) {
    let seen = 0;
    fullWalks.push(
      await measured(pids, async () => {
        const result = await walk(base);
        seen = result.seen;
        return result.samples;
      }),
    );
    if (seen !== repos) throw new Error(`${name}: the walk saw ${seen} repositories, not ${repos}`);
  }
  const result = { setup: name, repositories: repos, first, middle: middlePage, fullWalks };
  console.log(JSON.stringify(result));
  return result;
}

const s3 = s3Service();
const postgres = postgresService();
if (s3.service === undefined || postgres.service === undefined) throw new Error(s3.skip ?? postgres.skip);
const store = await freshStore(s3.service, postgres.service);
const results: Record<string, unknown>[] = [];
try {
  const seedSeconds = await seed(store);
  console.log(JSON.stringify({ seeded: repos, seedSeconds: Number(seedSeconds.toFixed(1)) }));
  const cluster = await startCluster(s3.service, postgres.service, {
    store,
    config: { storage: { gc: false } },
  });
  try {
    const pids = cluster.replicas.map((r) => r.proc.pid!);
    results.push(await bench('1 replica (direct)', cluster.replicas[0]!.url, [pids[0]!]));
    results.push(await bench('3 replicas (round-robin proxy)', cluster.url, pids));
  } finally {
    await cluster.stop({ keepStore: true });
  }
} finally {
  agent.destroy();
  await removeStore(store);
}
if (values.json) await writeFile(values.json, JSON.stringify(results, null, 2));
