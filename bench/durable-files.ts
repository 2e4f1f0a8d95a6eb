/**
 * The disk's ceiling for small durable files, the physical limit under a small push (a 1 KiB
 * image push makes four: layer, config, manifest, index.json). Each writer thread loops: create a
 * temporary file, write 1 KiB, fsync, close, rename into place, and (as Berth's filesystem driver
 * does) fsync the folder so that the new name survives a power cut. Reports files per second and
 * the process's CPU (nearly all kernel time) per file, for 1 writer and for 8 (the push
 * benchmark's concurrency), with and without the folder fsync.
 *
 *   node dist/bench/durable-files.js [--seconds 6] [--rounds 3] [--dir /tmp]
 *
 * Synchronous calls on worker threads, so that libuv's thread pool (4 threads) does not cap the
 * concurrency. A benchmark, never a test.
 */
import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  openSync,
  writeSync,
  fsyncSync,
  closeSync,
  renameSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

interface Job {
  dir: string;
  seconds: number;
  folderSync: boolean;
}

/** One writer: durable 1 KiB files into `dir` until the time is up; answers how many. */
function writeFiles({ dir, seconds, folderSync }: Job): number {
  mkdirSync(dir, { recursive: true });
  const body = Buffer.alloc(1024, 7);
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end) {
    const temporary = path.join(dir, `.tmp-${n}`);
    const fd = openSync(temporary, 'wx');
    writeSync(fd, body);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, path.join(dir, `file-${n}`));
    if (folderSync) {
      const folder = openSync(dir, 'r');
      fsyncSync(folder);
      closeSync(folder);
    }
    n++;
  }
  return n;
}

async function measure(
  root: string,
  writers: number,
  seconds: number,
  folderSync: boolean,
): Promise<{ filesPerSecond: number; cpuMsPerFile: number }> {
  const run = mkdtempSync(path.join(root, 'run-'));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const counts = await Promise.all(
    Array.from(
      { length: writers },
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          const job: Job = { dir: path.join(run, `w${i}`), seconds, folderSync };
          const worker = new Worker(new URL(import.meta.url), { workerData: job });
          worker.once('message', (n: number) => resolve(n));
          worker.once('error', reject);
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  rmSync(run, { recursive: true, force: true });
  const files = counts.reduce((a, b) => a + b, 0);
  return { filesPerSecond: files / elapsed, cpuMsPerFile: (used.user + used.system) / 1000 / files };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '3' },
      dir: { type: 'string', default: tmpdir() },
    },
  });
  const seconds = Number(values.seconds);
  const root = mkdtempSync(path.join(values.dir, 'bench-durable-'));
  const cases = [
    { writers: 1, folderSync: false },
    { writers: 1, folderSync: true },
    { writers: 8, folderSync: false },
    { writers: 8, folderSync: true },
  ];
  const results = new Map(cases.map((c) => [c, [] as { filesPerSecond: number; cpuMsPerFile: number }[]]));
  try {
    // Interleaved rounds: each case once per round, so that a noisy spell hits every case.
    for (let round = 0; round < Number(values.rounds); round++)
      for (const c of cases) results.get(c)!.push(await measure(root, c.writers, seconds, c.folderSync));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(
    '| writers | folder fsync | durable 1 KiB files/s | CPU ms per file |\n|---:|---|---:|---:|\n',
  );
  for (const c of cases) {
    const r = results.get(c)!;
    process.stdout.write(
      `| ${c.writers} | ${c.folderSync ? 'yes' : 'no'} | ${median(r.map((x) => x.filesPerSecond)).toFixed(0)} | ${median(r.map((x) => x.cpuMsPerFile)).toFixed(2)} |\n`,
    );
  }
}

if (isMainThread) await main();
else parentPort!.postMessage(writeFiles(workerData as Job));
