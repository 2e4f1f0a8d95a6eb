/**
 * WAL checkpoints off the event loop (issue 14). SQLite checkpoints automatically inside the
 * commit that takes the log past 1,000 pages: it copies the pages into the database file and
 * fsyncs both, 5–20 ms during which the event loop serves nothing. Under a stream of small pushes
 * that was one commit in ninety, and 8% of the main thread's time.
 *
 * Here a worker thread (`wal-checkpoint-worker.ts`) with its own connection checkpoints every
 * `intervalMs` when something was committed, and the main handle's automatic checkpoints are
 * off while the thread is known to work. A PASSIVE checkpoint takes no lock a writer needs, so
 * commits go on beside it; the next writer after a complete checkpoint restarts the log as before.
 *
 * The log is cut back to `WAL_SIZE_LIMIT` by the thread once the database is idle (see the
 * worker), not by the main handle's first commit after a restart of the log as SQLite does.
 *
 * Failures: an error reported by the thread, or the thread dying, turns the automatic
 * checkpoints back on at once (the log never grows without bound) and is counted; the first of a
 * run of failures is reported to `onError`; a dead thread is started again after a delay that doubles up to a minute, and its
 * first successful checkpoint turns the automatic ones off again.
 */
import { Worker } from 'node:worker_threads';
import { WAL_SIZE_LIMIT, type Db } from '../database.js';
import type { CheckpointReport, CheckpointWorkerData } from './wal-checkpoint-worker.js';

/** SQLite's own default, restored whenever the thread is not known to work. */
const INLINE_PAGES = 1000;
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 60_000;

export interface WalCheckpointerOptions {
  /** How often the thread looks for new commits. Default 200 ms. */
  intervalMs?: number;
  /** Quiet intervals before the thread cuts a long log back. Default 25 (5 s at 200 ms). */
  idleTicks?: number;
  /** A failed checkpoint or a dead thread (to log; never thrown). */
  onError?: (err: Error) => void;
  /** The first delay before a dead thread is started again. Default 1 s. */
  restartMs?: number;
}

export class WalCheckpointer {
  /** Checkpoints the thread ran, failures it reported or died of: for tests and benchmarks. */
  checkpoints = 0;
  failures = 0;
  #worker: Worker | undefined;
  #inline = true;
  #stopped = false;
  readonly #firstRestartMs: number;
  #restartMs: number;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Whether the last report was a failure: a failure that persists is logged once, not per tick. */
  #failing = false;

  constructor(
    private readonly db: Db,
    private readonly file: string,
    private readonly options: WalCheckpointerOptions = {},
  ) {
    this.#firstRestartMs = options.restartMs ?? RESTART_FIRST_MS;
    this.#restartMs = this.#firstRestartMs;
    this.#spawn();
  }

  /** Whether the main handle checkpoints inline now (the thread is not known to work). */
  get inline(): boolean {
    return this.#inline;
  }

  /** Stops the thread and closes its connection; the main handle checkpoints inline again. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    this.#worker = undefined;
    this.#setInline(true);
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    // A thread stuck in a checkpoint is ended; its connection closes with it.
    const stuck = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(stuck);
  }

  #spawn(): void {
    const data: CheckpointWorkerData = {
      file: this.file,
      intervalMs: this.options.intervalMs ?? 200,
      idleTicks: this.options.idleTicks ?? 25,
      walSizeLimit: WAL_SIZE_LIMIT,
    };
    const worker = new Worker(new URL('./wal-checkpoint-worker.js', import.meta.url), { workerData: data });
    this.#worker = worker;
    let died: Error | undefined;
    worker.on('message', (report: CheckpointReport) => {
      if (this.#stopped) return;
      if (report.ok) {
        this.checkpoints += 1;
        this.#failing = false;
        this.#restartMs = this.#firstRestartMs;
        this.#setInline(false);
      } else this.#fail(new Error(`WAL checkpoint failed: ${report.message}`));
    });
    worker.on('error', (err) => {
      died = err;
    });
    worker.on('exit', () => {
      if (this.#worker !== worker || this.#stopped) return;
      this.#worker = undefined;
      // Every death is reported: restarts back off to one a minute.
      this.#failing = false;
      this.#fail(died ?? new Error('WAL checkpoint thread exited'));
      this.#restartTimer = setTimeout(() => this.#spawn(), this.#restartMs);
      this.#restartTimer.unref();
      this.#restartMs = Math.min(this.#restartMs * 2, RESTART_MAX_MS);
    });
    // The thread never keeps the process alive (unref after the listeners, which ref it again).
    worker.unref();
  }

  /** Counts every failure; reports the first of a run of reported ones (a full disk fails every tick). */
  #fail(err: Error): void {
    this.failures += 1;
    this.#setInline(true);
    if (!this.#failing) this.options.onError?.(err);
    this.#failing = true;
  }

  #setInline(inline: boolean): void {
    if (this.#inline === inline || !this.db.open) return;
    this.#inline = inline;
    this.db.pragma(`wal_autocheckpoint = ${inline ? INLINE_PAGES : 0}`);
    this.db.pragma(`journal_size_limit = ${inline ? WAL_SIZE_LIMIT : -1}`);
  }
}
