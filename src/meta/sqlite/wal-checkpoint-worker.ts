/**
 * The body of the WAL checkpoint thread (see `wal-checkpointer.ts`): its own connection to the
 * database file, a PASSIVE checkpoint whenever another connection committed since the last one.
 * PASSIVE never waits for a lock and never blocks a writer: it copies what no reader still needs
 * and fsyncs, which is the slow part, here instead of on the event loop.
 *
 * The log is cut back here too, and only when the database has been idle a while: truncating a
 * log file of megabytes just checkpointed takes the kernel 15–100 ms, which the main handle used
 * to spend inside the first commit after each restart of the log (`journal_size_limit`).
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
  /** Quiet ticks after which a log larger than `walSizeLimit` bytes is truncated. */
  idleTicks: number;
  walSizeLimit: number;
}

/** What the thread reports after each attempt. */
export type CheckpointReport =
  { ok: true; walFrames: number; checkpointed: number } | { ok: false; message: string };

const { file, intervalMs, idleTicks, walSizeLimit } = workerData as CheckpointWorkerData;
const db = new Database(file, { fileMustExist: true });
// Never wait for a lock: a busy truncation is skipped and tried again at the next quiet tick.
db.pragma('busy_timeout = 0');
// `data_version` changes when another connection (this process's main handle, another process)
// commits: an idle registry costs one pragma per interval and no checkpoint.
const dataVersion = db.prepare('PRAGMA data_version').pluck();
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
let seen: unknown;
let quiet = 0;

function walSize(): number {
  return statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
}

const timer = setInterval(() => {
  let report: CheckpointReport;
  try {
    const version = dataVersion.get();
    if (version === seen) {
      quiet += 1;
      // TRUNCATE needs the write lock for a moment: with busy_timeout 0 it reports busy instead.
      if (quiet >= idleTicks && walSize() > walSizeLimit) truncate.get();
      return;
    }
    seen = version;
    quiet = 0;
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number };
    report = { ok: true, walFrames: row.log, checkpointed: row.checkpointed };
  } catch (err) {
    // Reported, and tried again at the next tick: the next commit makes the version differ.
    seen = undefined;
    report = { ok: false, message: (err as Error).message };
  }
  parentPort?.postMessage(report);
}, intervalMs);

parentPort?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
