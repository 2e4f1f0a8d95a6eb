/**
 * Pull-through cache throughput. One image of about 100 MiB (three layers: 60, 30 and 10 MiB of
 * incompressible data) lives in CNCF Distribution, the upstream. Each run pulls it
 *
 *   1. directly from Distribution (the baseline),
 *   2. through a cold Berth cache (a fresh Berth process, `extensions.sync` with `onDemand`): the
 *      first pull, which fetches from upstream while streaming to the client and storing,
 *   3. through the same Berth again: the cached pull (one HEAD revalidates the tag upstream, as the
 *      homelab config does it, then everything comes from Berth's storage).
 *
 * A pull is what a container runtime does: GET the manifest, then the config and layers with three
 * in flight, each hashed and checked against its digest. Reported: wall time, MiB/s, and the time
 * to the first byte of the largest layer (a cache that waited for the whole download before
 * answering would show it there), and Berth's CPU seconds for each of its pulls (all threads; the
 * first pull's figure includes storing the blobs, which may end just after the client's last
 * byte), and Distribution's and the client's (this process's) CPU seconds during the direct and
 * first pulls: on a 2-core machine the three share the cores, so a first pull cannot take less
 * than about (Berth + Distribution + client CPU) / 2 however well Berth overlaps its work.
 * A benchmark, never a test.
 *
 *   node dist/bench/sync.js [--mib 100] [--runs 3] [--json FILE]
 *     [--baseline DIR] [--floor] [--berth-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof --trace-gc"] [--show-output]
 *
 * `--baseline DIR`: another build (a directory holding `dist/`, `package.json` and a
 * `node_modules` link, e.g. a copy of main's) whose Berth does its own first and cached pull in
 * every run, alternating the order with this build's, so both share the machine's state.
 * `--floor`: every run also does a first pull through the pull-through floor (floor-proxy.ts: fetch,
 * send, hash, write and fsync, nothing else), the fastest any cache with Berth's durability could be
 * on this machine; its row shows how much of the gap to a direct pull is Berth's own.
 * `--berth-node-args`: node flags for every Berth process (its output, e.g. `--trace-gc` lines,
 * goes to stderr after each pull when `--show-output` is given).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDistribution } from '../test/support/clients.js';
import { ACCEPT_ALL_MANIFESTS, makeImage, pushContent } from '../test/support/fixtures.js';
import { startBerth } from '../test/support/server.js';
import { ProcessWatch } from './memory.js';

const MiB = 1024 * 1024;
const FLOOR_PROXY = fileURLToPath(new URL('./floor-proxy.js', import.meta.url));

interface PullResult {
  seconds: number;
  bytes: number;
  /** Seconds from the request of the largest blob to its first byte. */
  largestFirstByte: number;
  /** Berth's CPU seconds (all threads) during the pull; 0 for the direct pulls. */
  cpuSeconds?: number;
  /** The kernel's share of that CPU time. */
  systemShare?: number;
  /** CPU seconds of Distribution and of this process (the client) during the pull. */
  upstreamCpuSeconds?: number;
  clientCpuSeconds?: number;
}

/** Runs a pull, adding Distribution's and the client's CPU seconds to its result. */
async function withCpu(upstreamPid: number, run: () => Promise<PullResult>): Promise<PullResult> {
  const upstream = new ProcessWatch(upstreamPid);
  upstream.start();
  const client = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(client);
  return {
    ...result,
    upstreamCpuSeconds: upstream.stop().cpuSeconds,
    clientCpuSeconds: (used.user + used.system) / 1e6,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(url: string, accept?: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: accept ? { accept } : {} }, resolve);
    req.once('error', reject);
  });
}

/** Reads and hashes a body; returns its digest and size, and when its first byte came. */
async function consume(
  res: http.IncomingMessage,
): Promise<{ digest: string; size: number; firstByte: number }> {
  const hash = createHash('sha256');
  let size = 0;
  let firstByte = 0;
  for await (const chunk of res) {
    if (size === 0) firstByte = performance.now();
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, firstByte };
}

/** Pulls an image the way a runtime does, checking every digest. */
async function pull(base: string, repo: string, tag: string): Promise<PullResult> {
  const started = performance.now();
  const res = await get(`${base}/v2/${repo}/manifests/${tag}`, ACCEPT_ALL_MANIFESTS);
  if (res.statusCode !== 200) throw new Error(`manifest ${repo}:${tag}: ${res.statusCode}`);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  const blobs = [manifest.config, ...manifest.layers];
  const largest = blobs.reduce((a, b) => (b.size > a.size ? b : a));
  let bytes = 0;
  let largestFirstByte = 0;
  const queue = [...blobs];
  const worker = async (): Promise<void> => {
    for (let blob = queue.shift(); blob; blob = queue.shift()) {
      const asked = performance.now();
      const answer = await get(`${base}/v2/${repo}/blobs/${blob.digest}`);
      if (answer.statusCode !== 200) throw new Error(`blob ${blob.digest}: ${answer.statusCode}`);
      const got = await consume(answer);
      if (got.digest !== blob.digest) throw new Error(`blob ${blob.digest} arrived as ${got.digest}`);
      bytes += got.size;
      if (blob === largest) largestFirstByte = (got.firstByte - asked) / 1000;
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return { seconds: (performance.now() - started) / 1000, bytes, largestFirstByte };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mib: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      json: { type: 'string' },
      baseline: { type: 'string' },
      floor: { type: 'boolean', default: false },
      'berth-node-args': { type: 'string', default: '' },
      'show-output': { type: 'boolean', default: false },
    },
  });
  const totalMiB = Number(values.mib);
  const runs = Number(values.runs);
  const work = await mkdtemp(path.join(tmpdir(), 'bench-sync-'));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const sizes = [0.6, 0.3, 0.1].map((share) => Math.round(totalMiB * share * MiB));
  log(
    `building a ${totalMiB} MiB image (layers of ${sizes.map((s) => (s / MiB).toFixed(0)).join(', ')} MiB)`,
  );
  const image = makeImage({ layerSizes: sizes });
  const distribution = await startDistribution();
  const nodeArgs = values['berth-node-args'].split(/\s+/).filter((a) => a !== '');
  type Build = 'before' | 'after';
  const builds: { name: Build; cli?: string }[] = [{ name: 'after' }];
  if (values.baseline)
    builds.push({ name: 'before', cli: path.resolve(values.baseline, 'dist/src/cli/main.js') });
  const results: Record<'direct' | 'first-floor' | `${'first' | 'cached'}-${Build}`, PullResult[]> = {
    direct: [],
    'first-floor': [],
    'first-after': [],
    'cached-after': [],
    'first-before': [],
    'cached-before': [],
  };

  /** A cold Berth of `build`: its first pull, then its cached pull. */
  const throughBerth = async (build: { name: Build; cli?: string }): Promise<void> => {
    const berth = await startBerth({
      root: await mkdtemp(path.join(work, 'berth-')),
      cleanup: true,
      nodeArgs,
      ...(build.cli ? { cli: build.cli } : {}),
      config: {
        log: { level: 'info' },
        extensions: {
          sync: {
            registries: [
              { urls: [distribution.url], onDemand: true, content: [{ prefix: '**', destination: '/up' }] },
            ],
          },
        },
      },
    });
    try {
      const watch = new ProcessWatch(berth.proc.pid ?? 0);
      watch.start();
      const first = await withCpu(distribution.pid ?? 0, () => pull(berth.url, 'up/bench/big', 'v1'));
      // The first pull ends when the client has every byte; storing may finish just after.
      const stored = (): number => berth.output().split('"blob cached from upstream"').length - 1;
      for (let i = 0; i < 1200 && stored() < image.blobs.length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (stored() < image.blobs.length) throw new Error(`Berth did not store the image:\n${berth.output()}`);
      const usage = watch.stop();
      results[`first-${build.name}`].push({
        ...first,
        cpuSeconds: usage.cpuSeconds,
        systemShare: usage.systemShare,
      });
      if (values['show-output']) log(`--- ${build.name}, first pull:\n${berth.output()}`);
      watch.start();
      const cached = await pull(berth.url, 'up/bench/big', 'v1');
      results[`cached-${build.name}`].push({ ...cached, cpuSeconds: watch.stop().cpuSeconds });
    } finally {
      await berth.stop();
    }
  };

  /** A cold pull-through floor (floor-proxy.ts): its first pull, until every blob is stored. */
  const throughFloor = async (): Promise<void> => {
    const root = await mkdtemp(path.join(work, 'floor-'));
    const proc = spawn(process.execPath, [FLOOR_PROXY, root, distribution.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      proc.stdout.setEncoding('utf8');
      const [port] = (await once(proc.stdout, 'data')) as [string];
      let stored = 0;
      proc.stdout.on('data', (text: string) => {
        stored += text.split('stored ').length - 1;
      });
      const watch = new ProcessWatch(proc.pid ?? 0);
      watch.start();
      const first = await withCpu(distribution.pid ?? 0, () =>
        pull(`http://127.0.0.1:${port.trim()}`, 'bench/big', 'v1'),
      );
      for (let i = 0; i < 1200 && stored < image.blobs.length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (stored < image.blobs.length) throw new Error('the floor did not store the image');
      const usage = watch.stop();
      results['first-floor'].push({ ...first, cpuSeconds: usage.cpuSeconds, systemShare: usage.systemShare });
    } finally {
      proc.kill('SIGTERM');
      await rm(root, { recursive: true, force: true });
    }
  };
  type Step = () => Promise<void>;
  const steps: Step[] = builds.map((build) => () => throughBerth(build));
  if (values.floor) steps.push(throughFloor);

  try {
    await pushContent(distribution.url, 'bench/big', image, 'v1');
    for (let run = 1; run <= runs; run++) {
      results.direct.push(
        await withCpu(distribution.pid ?? 0, () => pull(distribution.url, 'bench/big', 'v1')),
      );
      const order = run % 2 === 1 ? steps : [...steps].reverse();
      for (const step of order) await step();
      log(`run ${run}/${runs} done`);
    }
  } finally {
    await distribution.stop();
    agent.destroy();
    await rm(work, { recursive: true, force: true });
  }

  type Kind = keyof typeof results;
  const kinds: Kind[] = [
    'direct',
    ...(values.floor ? (['first-floor'] as const) : []),
    ...(values.baseline
      ? (['first-before', 'first-after', 'cached-before', 'cached-after'] as const)
      : (['first-after', 'cached-after'] as const)),
  ];
  const rows = kinds.map((kind) => {
    const list = results[kind];
    const seconds = median(list.map((r) => r.seconds));
    const bytes = list[0]?.bytes ?? 0;
    return {
      kind,
      label: {
        direct: 'Distribution, direct',
        'first-floor': 'Pull-through floor, first pull (cold)',
        'first-after': 'Berth, first pull (cold cache)',
        'cached-after': 'Berth, cached pull',
        'first-before': 'Berth baseline, first pull (cold cache)',
        'cached-before': 'Berth baseline, cached pull',
      }[kind],
      seconds,
      mibPerSec: bytes / MiB / seconds,
      largestFirstByteMs: median(list.map((r) => r.largestFirstByte)) * 1000,
      cpuSeconds: kind === 'direct' ? undefined : median(list.map((r) => r.cpuSeconds ?? 0)),
      othersCpuSeconds: kind.startsWith('cached')
        ? undefined
        : median(list.map((r) => (r.upstreamCpuSeconds ?? 0) + (r.clientCpuSeconds ?? 0))),
    };
  });
  const direct = rows[0]?.seconds ?? 0;
  const lines = [
    `| ${totalMiB} MiB image, median of ${runs} | seconds | MiB/s | vs direct | first byte of largest layer | cache CPU s (Berth or floor) | Distribution + client CPU s |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.seconds.toFixed(2)} | ${r.mibPerSec.toFixed(0)} | ${(direct / r.seconds).toFixed(2)}x | ${r.largestFirstByteMs.toFixed(1)} ms | ${r.cpuSeconds === undefined ? '–' : r.cpuSeconds.toFixed(2)} | ${r.othersCpuSeconds === undefined ? '–' : r.othersCpuSeconds.toFixed(2)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify({ totalMiB, runs, rows, results }, null, 2));
}

await main();
