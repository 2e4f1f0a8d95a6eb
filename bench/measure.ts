/**
 * Runs a number of operations with a fixed number of concurrent workers and summarises them:
 * throughput, payload bandwidth and latency percentiles.
 */

/** One operation: `index` is unique within the run, `worker` in [0, concurrency). Returns payload bytes. */
export type Operation = (index: number, worker: number) => Promise<number>;

export interface RunStats {
  ops: number;
  errors: number;
  firstError?: string;
  seconds: number;
  opsPerSec: number;
  /** Payload bytes per second over the run, in MB (10^6 bytes). */
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Stop a run early after this many failures: it measures nothing useful any more. */
const MAX_ERRORS = 20;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/**
 * Runs `total` operations (indices `firstIndex` onward) on `concurrency` workers, each taking the
 * next index as soon as its previous operation finished.
 */
export async function runConcurrent(
  total: number,
  concurrency: number,
  op: Operation,
  firstIndex = 0,
): Promise<RunStats> {
  const latencies = new Float64Array(total);
  let next = 0;
  let done = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;

  const worker = async (id: number): Promise<void> => {
    while (next < total && errors < MAX_ERRORS) {
      const index = next++;
      const start = process.hrtime.bigint();
      try {
        // Not `bytes += await op()`: that reads `bytes` before the await and loses other workers' counts.
        const n = await op(firstIndex + index, id);
        bytes += n;
        latencies[done++] = Number(process.hrtime.bigint() - start) / 1e6;
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };

  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, (_, id) => worker(id)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;

  const sorted = latencies.subarray(0, done).sort();
  const stats: RunStats = {
    ops: done,
    errors,
    seconds,
    opsPerSec: done / seconds,
    mbPerSec: bytes / 1e6 / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
  };
  if (firstError !== undefined) stats.firstError = firstError;
  return stats;
}
