/**
 * The metadata store through its port: PostgreSQL (scripts/services/postgres.sh, or
 * BERTH_TEST_POSTGRES_URL) beside the embedded SQLite default, on the same machine in the same run.
 * Seeds N repositories (one manifest and tag each, through `replaceRepositories`), then times the
 * hot reads and writes one at a time: a catalog page (first, middle), tag resolution, a manifest
 * push (`recordManifest`), a lock taken and released, and the UI's change check.
 *
 *   node dist/bench/meta-store.js [--repos 100000] [--ops 500] [--json FILE]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { postgresService } from '../test/support/services.js';
import { dropSchemas, freshSchemaName } from '../test/support/postgres.js';
import { openPostgresStore } from '../src/meta/postgres/store.js';
import { openSqliteStore } from '../src/meta/sqlite/store.js';
import type { OpenedStore } from '../src/meta/store.js';
import type { ManifestRecord } from '../src/meta/registry-index.js';

const { values } = parseArgs({
  options: {
    repos: { type: 'string', default: '100000' },
    ops: { type: 'string', default: '500' },
    json: { type: 'string' },
  },
});
const repos = Number(values.repos);
const ops = Number(values.ops);

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const repoName = (i: number): string => `team-${String(i % 1000).padStart(3, '0')}/app-${i}`;

function manifest(repo: string, n: number): ManifestRecord {
  return {
    repo,
    digest: digest(n),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 700,
    artifactType: null,
    subject: null,
    annotations: null,
    pushedAt: Date.now(),
    references: [digest(n + 1), digest(n + 2)],
  };
}

/** Latency percentiles in ms of `count` sequential runs of `op`. */
async function time(
  count: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await op(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    Number(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(3));
  return { p50: at(0.5), p99: at(0.99) };
}

async function run(name: string, { meta, coordination }: OpenedStore): Promise<Record<string, unknown>> {
  const index = meta.registryIndex;
  const seedStart = Date.now();
  const concurrency = 8;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < repos; i = next++) {
        const repo = repoName(i);
        const m = manifest(repo, i * 4);
        await index.replaceRepositories([
          {
            repo,
            stamp: `s${i}`,
            manifests: [m],
            tags: [{ tag: 'latest', digest: m.digest, pushedAt: m.pushedAt }],
            blobs: [
              { digest: digest(i * 4 + 1), size: 1000 },
              { digest: digest(i * 4 + 2), size: 5_000_000 },
            ],
          },
        ]);
      }
    }),
  );
  const seedS = (Date.now() - seedStart) / 1000;
  const middle = repoName(Math.floor(repos / 2));
  const result = {
    store: name,
    repositories: repos,
    seedSeconds: seedS,
    catalogFirstPage100: await time(ops, () => index.catalog('', 100)),
    catalogMiddlePage100: await time(ops, () => index.catalog(middle, 100)),
    resolveTag: await time(ops, (i) => index.resolveTag(repoName((i * 7919) % repos), 'latest')),
    recordManifest: await time(ops, (i) =>
      index.recordManifest(manifest('bench/push', 1e9 + i * 4), [`t${i}`], `p${i}`),
    ),
    lockTakeRelease: await time(ops, (i) =>
      coordination.withLock(`repo:bench-${i % 10}`, async () => undefined),
    ),
    uiEnsureFresh: await time(ops, () => meta.uiSummaries.ensureFresh()),
  };
  console.log(JSON.stringify(result));
  return result;
}

const results: Record<string, unknown>[] = [];
const dir = await mkdtemp(path.join(tmpdir(), 'berth-bench-meta-'));
try {
  const sqlite = openSqliteStore(path.join(dir, 'meta.db'));
  try {
    results.push(await run('sqlite', sqlite));
  } finally {
    await sqlite.meta.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const postgres = postgresService();
if (postgres.service !== undefined) {
  const schema = freshSchemaName();
  const store = await openPostgresStore({ url: postgres.service, schema });
  try {
    results.push(await run('postgres', store));
  } finally {
    await store.meta.close();
    await dropSchemas(postgres.service, [schema]);
  }
} else {
  console.error(`postgres skipped: ${postgres.skip}`);
}
if (values.json) await writeFile(values.json, JSON.stringify(results, null, 2));
