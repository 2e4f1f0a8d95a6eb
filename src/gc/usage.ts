/**
 * What retention needs to know about use: when each manifest was last pulled (push times are in
 * the registry index already). Pulls are the hottest path, so each process buffers them in memory
 * and writes them to the shared store (the PullTimes port) in one batch at `flush()`: every few
 * seconds (a background job), before each sweep, at shutdown. A buffer lost in a crash loses a few
 * seconds of pull times, which retention (counted in days) does not notice.
 */
import type { PullTimes, RecentBlobTimes } from '../meta/pull-times.js';

interface TimeRow {
  repo: string;
  digest: string;
  at: number;
}

/** Times per (repository, digest) waiting to be written, the newest time of each winning. */
class PendingTimes {
  private rows = new Map<string, TimeRow>();

  add(row: TimeRow): void {
    const key = `${row.repo}@${row.digest}`;
    if ((this.rows.get(key)?.at ?? -Infinity) < row.at) this.rows.set(key, row);
  }

  /** Hands every row to `write`; when it fails they are put back (newer ones winning) for the next try. */
  async drain(write: (rows: Iterable<TimeRow>) => Promise<void>): Promise<void> {
    if (this.rows.size === 0) return;
    const batch = this.rows;
    this.rows = new Map();
    try {
      await write(batch.values());
    } catch (err) {
      for (const row of batch.values()) this.add(row);
      throw err;
    }
  }
}

export class PullLedger {
  private readonly pending = new PendingTimes();

  constructor(private readonly store: PullTimes) {}

  record(repo: string, digest: string, at: number): void {
    this.pending.add({ repo, digest, at });
  }

  /** Writes the buffered pulls; on failure they stay buffered (newer pulls win) for the next try. */
  flush(): Promise<void> {
    return this.pending.drain((rows) => this.store.record(rows));
  }

  /** Last pull per digest of `repo` (digests never pulled are absent), this process's buffer included. */
  async lastPulls(repo: string): Promise<Map<string, number>> {
    await this.flush();
    return this.store.lastPulls(repo);
  }

  forget(repo: string, digests: Iterable<string>): Promise<void> {
    return this.store.forget(repo, digests);
  }
}

/**
 * When blobs were stored, on their way to the shared store (the RecentBlobTimes port), which the
 * elected collector reads to spare a blob a client was just told the registry holds. A push stores
 * two or more blobs and a manifest; one transaction each was a commit per blob on the push path
 * (issue 14). Records are gathered for one turn of the event loop and written as one batch, after
 * the responses of that turn: for PostgreSQL that is when the unawaited write landed before, for
 * SQLite a fraction of a millisecond later. A failed write is put back (newer times winning) and
 * retried after `retryMs`; `onError` logs and counts it.
 */
export class RecentBlobLedger {
  private readonly pending = new PendingTimes();
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly store: RecentBlobTimes,
    private readonly onError: (err: unknown) => void,
    private readonly retryMs = 1_000,
  ) {}

  record(repo: string, digest: string, at: number): void {
    this.pending.add({ repo, digest, at });
    this.schedule(0);
  }

  /** Writes what is buffered now (before a sweep, at shutdown); throws when the write fails. */
  flush(): Promise<void> {
    return this.pending.drain((rows) => this.store.record(rows));
  }

  /** Writes what is buffered and stops scheduling writes (the store is about to close). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(delayMs: number): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      if (this.closed) return;
      this.flush().catch((err: unknown) => {
        this.onError(err);
        this.schedule(this.retryMs);
      });
    };
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }
}
