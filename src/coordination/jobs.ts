/**
 * The one runner of background jobs (pull-ledger flush, session purge, GC, scrub, periodic sync,
 * UI summary checks). A job survives its own failure: the error is logged, counted in
 * `berth_background_job_failures_total{job}` and the job is retried later with a growing delay;
 * nothing a job throws reaches the event loop (a full disk once killed the server through an
 * unhandled `SQLITE_FULL` in the pull-ledger timer).
 *
 * Elected jobs run only in the process that leads them (the Coordination port's leader election):
 * each process keeps a heartbeat that takes or renews the job's lease, and at each tick of its own
 * schedule runs the job only while it leads. When the leader dies its lease lapses and another
 * process leads from its next tick on.
 */
import type { Logger } from 'pino';
import type { Coordination, Leadership } from './coordination.js';

export interface JobSpec {
  /** The job's name in logs, metrics and its leadership lease. */
  readonly name: string;
  /** From the end of one run to the start of the next; 0 runs the job once (plus retries). */
  readonly intervalMs: number;
  /** Before the first run; default `intervalMs`. */
  readonly firstDelayMs?: number;
  /** Only the elected leader runs it (work on shared state); otherwise every process does (its own buffers). */
  readonly elected: boolean;
  /** False: never runs on its own, only through `runNow` (tests drive it). Default true. */
  readonly scheduled?: boolean;
  /** The work; `shouldStop` turns true when the process is shutting down. */
  run(shouldStop: () => boolean): Promise<void>;
}

export interface JobHandle {
  /** Resolves once the job's first run is scheduled (its leadership checked). */
  readonly scheduled: Promise<void>;
  /** Runs the job now, after any run in progress, whatever the leadership; errors reach the caller. */
  runNow(): Promise<void>;
}

export interface JobRunnerOptions {
  log: Logger;
  coordination: Coordination;
  /** Counts failures by job (the metric). */
  onFailure?: (job: string) => void;
  /** How long a leader's lease survives it (default 30 s); followers take over within this time. */
  leaseTtlMs?: number;
  /** The first retry delay after a failure (default 1 s), doubling up to `maxBackoffMs` (default 5 min). */
  firstBackoffMs?: number;
  maxBackoffMs?: number;
}

interface JobState {
  spec: JobSpec;
  leadership?: Leadership;
  leading: boolean;
  failures: number;
  timer?: NodeJS.Timeout;
  heartbeat?: NodeJS.Timeout;
  running?: Promise<void>;
  scheduled?: Promise<void>;
  markScheduled?: () => void;
}

export class JobRunner {
  readonly #jobs: JobState[] = [];
  readonly #o: Required<Omit<JobRunnerOptions, 'onFailure'>> & Pick<JobRunnerOptions, 'onFailure'>;
  #started = false;
  #stopping = false;

  constructor(options: JobRunnerOptions) {
    this.#o = { leaseTtlMs: 30_000, firstBackoffMs: 1_000, maxBackoffMs: 300_000, ...options };
  }

  add(spec: JobSpec): JobHandle {
    const state: JobState = { spec, leading: !spec.elected, failures: 0 };
    if (spec.elected) state.leadership = this.#o.coordination.leadership(spec.name, this.#o.leaseTtlMs);
    this.#jobs.push(state);
    let markScheduled!: () => void;
    state.scheduled = new Promise<void>((resolve) => (markScheduled = resolve));
    state.markScheduled = markScheduled;
    if (this.#started) void this.#begin(state);
    return {
      scheduled: state.scheduled,
      runNow: () => this.#serial(state, () => spec.run(() => this.#stopping)),
    };
  }

  /** Starts every job's schedule (elected jobs first try to take their lease). */
  async start(): Promise<void> {
    this.#started = true;
    await Promise.all(this.#jobs.map((state) => this.#begin(state)));
  }

  /** Stops every schedule, waits for runs in progress and steps down from every leadership. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const state of this.#jobs) {
      clearTimeout(state.timer);
      clearInterval(state.heartbeat);
    }
    await Promise.all(this.#jobs.map((s) => s.running?.catch(() => undefined) ?? Promise.resolve()));
    for (const state of this.#jobs) await state.leadership?.resign().catch(() => undefined);
  }

  /** Whether this process currently leads the job (tests, logs). */
  leads(job: string): boolean {
    return this.#jobs.find((s) => s.spec.name === job)?.leading ?? false;
  }

  async #begin(state: JobState): Promise<void> {
    if (state.leadership) {
      await this.#checkLeadership(state);
      state.heartbeat = setInterval(
        () => void this.#checkLeadership(state),
        Math.max(1, this.#o.leaseTtlMs / 3),
      );
      state.heartbeat.unref();
    }
    if (state.spec.scheduled !== false)
      this.#schedule(state, state.spec.firstDelayMs ?? state.spec.intervalMs);
    state.markScheduled?.();
  }

  async #checkLeadership(state: JobState): Promise<void> {
    if (this.#stopping) return;
    const was = state.leading;
    try {
      state.leading = await state.leadership!.check();
    } catch (err) {
      state.leading = false;
      this.#failed(state.spec.name, err, 'leadership check failed');
    }
    if (state.leading !== was)
      this.#o.log.info(
        { job: state.spec.name, leading: state.leading },
        state.leading ? 'job: leading' : 'job: following',
      );
  }

  #schedule(state: JobState, delayMs: number): void {
    if (this.#stopping) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.#tick(state);
    }, delayMs);
    state.timer.unref();
  }

  async #tick(state: JobState): Promise<void> {
    const { spec } = state;
    if (!state.leading) {
      // A follower looks again at its next tick; it leads from then on if the leader is gone.
      this.#schedule(state, spec.intervalMs > 0 ? spec.intervalMs : this.#o.leaseTtlMs);
      return;
    }
    try {
      await this.#serial(state, () => spec.run(() => this.#stopping));
      state.failures = 0;
      if (spec.intervalMs > 0) this.#schedule(state, spec.intervalMs);
    } catch (err) {
      state.failures++;
      const retryMs = Math.min(this.#o.maxBackoffMs, this.#o.firstBackoffMs * 2 ** (state.failures - 1));
      this.#failed(spec.name, err, 'job failed; retrying later', {
        retryInMs: retryMs,
        failures: state.failures,
      });
      this.#schedule(state, retryMs);
    }
  }

  #failed(job: string, err: unknown, message: string, extra: object = {}): void {
    try {
      this.#o.onFailure?.(job);
      this.#o.log.error({ err, job, ...extra }, message);
    } catch {
      // Logging or counting must not turn a handled failure into an unhandled one.
    }
  }

  /** Runs of one job never overlap (a scheduled run and a `runNow`): each waits for the previous. */
  #serial(state: JobState, fn: () => Promise<void>): Promise<void> {
    const run = (state.running ?? Promise.resolve()).catch(() => undefined).then(fn);
    state.running = run;
    return run;
  }
}
