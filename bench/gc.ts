/**
 * Garbage-collection throughput on a store of many images (default 10,000 in 100 repositories):
 * half are tagged, half pushed by digest only, so a sweep that finds them all older than `gcDelay`
 * removes half the manifests and their configs and layers. Measures, each on the same store:
 *
 * 1. a dry run (reads everything, decides, removes nothing);
 * 2. the real sweep (objects removed and bytes freed per second);
 * 3. a sweep with nothing left to remove (the steady-state cost of `gcInterval`).
 *
 * The store is built in-process through Berth's registry services (uploads and manifest pushes with
 * their locks and index updates), not over HTTP: this measures collection, not pushing. A benchmark,
 * never a test. `node dist/bench/gc.js --help` lists the options.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseConfig } from '../src/config/index.js';
import { GarbageCollector } from '../src/gc/collector.js';
import { openStore, type OpenStore } from '../src/gc/open-store.js';
import { totalsOf, type SweepReport } from '../src/gc/report.js';
import { RetentionPolicies } from '../src/gc/retention.js';
import { parseDigest } from '../src/oci/digest.js';

const USAGE = `node dist/bench/gc.js [--images N] [--repos N] [--layer-bytes N] [--dir DIR] [--keep]
  --images N       images in the store (default 10000); half tagged, half untagged garbage
  --repos N        repositories they are spread over (default 100)
  --layer-bytes N  size of each image's one layer (default 16384)
  --dir DIR        where to build the store (default: a temporary folder, removed afterwards)
  --keep           keep the store`;

const HOUR = 3_600_000;

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function buildStore(
  store: OpenStore,
  images: number,
  repos: number,
  layerBytes: number,
): Promise<{ seconds: number }> {
  const { registry } = store;
  const started = performance.now();
  for (let i = 0; i < images; i++) {
    const repo = `bench/repo-${String(i % repos).padStart(4, '0')}`;
    const layer = randomBytes(layerBytes);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
        id: i,
      }),
    );
    for (const blob of [layer, config]) {
      await registry.uploads.monolithic(repo, parseDigest(sha256(blob)), Readable.from([blob]), blob.length);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha256(config),
          size: config.length,
        },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
        ],
      }),
    );
    const reference =
      i % 2 === 0
        ? { kind: 'tag' as const, tag: `v${i}` }
        : { kind: 'digest' as const, digest: parseDigest(sha256(manifest)) };
    await registry.manifests.put(repo, reference, manifest, 'application/vnd.oci.image.manifest.v1+json');
    if ((i + 1) % 1000 === 0) process.stderr.write(`  ${i + 1} images stored\n`);
  }
  return { seconds: (performance.now() - started) / 1000 };
}

interface Measured {
  name: string;
  seconds: number;
  /** Blob files examined (every manifest, config and layer in the store). */
  scanned: number;
  /** Index entries (untagged manifests) removed. */
  manifests: number;
  /** Files removed: blobs (manifests, configs, layers) and upload sessions. */
  files: number;
  bytes: number;
  filesPerSecond: number;
  bytesPerSecond: number;
}

function measured(name: string, report: SweepReport, blobFiles: number): Measured {
  const t = totalsOf(report.repositories);
  const files = t.blobs + t.uploads;
  return {
    name,
    seconds: report.durationSeconds,
    scanned: blobFiles,
    manifests: t.manifests,
    files,
    bytes: t.freedBytes,
    filesPerSecond: files / report.durationSeconds,
    bytesPerSecond: t.freedBytes / report.durationSeconds,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '10000' },
      repos: { type: 'string', default: '100' },
      'layer-bytes': { type: 'string', default: '16384' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const images = Number(values.images);
  const repos = Number(values.repos);
  const layerBytes = Number(values['layer-bytes']);
  const dir = values.dir ?? (await mkdtemp(path.join(tmpdir(), 'berth-bench-gc-')));
  const log = pino({ level: 'warn' }, pino.destination(2));
  const { config } = parseConfig(
    { storage: { rootDirectory: dir, gc: true, gcDelay: '1h' } },
    { baseDir: dir },
  );
  const store = await openStore(config, log);
  try {
    process.stderr.write(`building a store of ${images} images in ${repos} repositories under ${dir}\n`);
    const built = await buildStore(store, images, repos, layerBytes);
    const blobFiles = images * 3;
    const later = Date.now() + 2 * HOUR;
    const collector = (dryRun: boolean) =>
      new GarbageCollector({
        registry: store.registry,
        log,
        delayMs: HOUR,
        retention: new RetentionPolicies(config.storage.retention, HOUR),
        now: () => later,
        dryRun,
      });
    // Each sweep starts on a settled disk: the writeback of what came before is not its cost.
    const settle = (): void => void execFileSync('sync');
    settle();
    const dry = measured('dry run', await collector(true).sweep(), blobFiles);
    settle();
    const real = measured('sweep', await collector(false).sweep(), blobFiles);
    settle();
    const idle = measured('sweep, nothing to remove', await collector(false).sweep(), blobFiles - real.files);
    const results = [dry, real, idle];
    process.stdout.write(
      `GC on ${images} images (${repos} repositories, ${layerBytes}-byte layers; store built in ${built.seconds.toFixed(1)} s)\n` +
        `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`,
    );
    for (const r of results) {
      process.stdout.write(
        `${r.name.padEnd(26)} ${r.seconds.toFixed(2).padStart(7)} s  ${String(r.scanned).padStart(6)} blobs examined (${(r.scanned / r.seconds).toFixed(0)}/s)  ` +
          `${String(r.manifests).padStart(5)} manifests and ${String(r.files).padStart(6)} files removed (${r.filesPerSecond.toFixed(0)} files/s)  ` +
          `${(r.bytes / 2 ** 20).toFixed(1)} MiB freed (${(r.bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s)\n`,
      );
    }
    process.stdout.write(`${JSON.stringify({ images, repos, layerBytes, results })}\n`);
  } finally {
    await store.close();
    if (!values.keep && values.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

await main();
