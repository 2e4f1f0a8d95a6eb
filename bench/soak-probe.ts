/**
 * Loaded into the soak's own Berth process only (`NODE_OPTIONS=--import …/soak-probe.js`, set by
 * `bench/soak.ts`; never by the server itself): reports the process's memory from the inside, which
 * `/proc` and `/metrics` cannot split (heap used, external, array buffers), and writes V8 heap
 * snapshots on request, so the soak can compare what is alive at mid-run and at the end.
 *
 * - Every `SOAK_PROBE_INTERVAL_MS` (default 5 s) it appends one JSON line to `SOAK_PROBE_FILE`:
 *   `{"at": Date.now(), "rss", "heapTotal", "heapUsed", "external", "arrayBuffers", "rssAnon",
 *   "rssFile"}` (bytes).
 * - On SIGUSR2 it writes `heap-N.heapsnapshot` into `SOAK_PROBE_SNAPSHOT_DIR`, then appends
 *   `{"snapshot": path, "ms": how long the server was stopped for it}`. `writeHeapSnapshot` runs a
 *   full GC first, so a snapshot holds only what is reachable.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

const file = process.env.SOAK_PROBE_FILE;
const snapshotDir = process.env.SOAK_PROBE_SNAPSHOT_DIR;
const intervalMs = Number(process.env.SOAK_PROBE_INTERVAL_MS ?? 5_000);

// NODE_OPTIONS reaches the server's worker threads (bcrypt) too: only the main thread reports, or
// their own isolate's heap figures would mix into the series.
if (file !== undefined && isMainThread) {
  const line = (record: Record<string, unknown>): void => appendFileSync(file, `${JSON.stringify(record)}\n`);
  const sample = (): void => {
    const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
    // The kernel's split of RSS: anonymous memory (heaps, malloc arenas) against mapped files.
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    line({
      at: Date.now(),
      rss,
      heapTotal,
      heapUsed,
      external,
      arrayBuffers,
      rssAnon: kib('RssAnon') * 1024,
      rssFile: kib('RssFile') * 1024,
    });
  };
  sample();
  setInterval(sample, intervalMs).unref();
  let snapshots = 0;
  process.on('SIGUSR2', () => {
    if (snapshotDir === undefined) return;
    const target = path.join(snapshotDir, `heap-${++snapshots}.heapsnapshot`);
    const t0 = Date.now();
    writeHeapSnapshot(target);
    line({ at: Date.now(), snapshot: target, ms: Date.now() - t0 });
  });
}
