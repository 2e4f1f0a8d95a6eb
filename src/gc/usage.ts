/**
 * What retention needs to know about use: when each manifest was last pulled (push times are in
 * the registry index already). Pulls are the hottest path, so each process buffers them in memory
 * and writes them to the shared store (the PullTimes port) in one batch at `flush()`: every few
 * seconds (a background job), before each sweep, at shutdown. A buffer lost in a crash loses a few
 * seconds of pull times, which retention (counted in days) does not notice.
 */
import type { PullTimes } from '../meta/pull-times.js';

export class PullLedger {
  private pending = new Map<string, { repo: string; digest: string; at: number }>();

  constructor(private readonly store: PullTimes) {}

  record(repo: string, digest: string, at: number): void {
    this.pending.set(`${repo}@${digest}`, { repo, digest, at });
  }

  /** Writes the buffered pulls; on failure they are put back (newer pulls win) for the next try. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.record(batch.values());
    } catch (err) {
      for (const [key, pull] of batch) if (!this.pending.has(key)) this.pending.set(key, pull);
      throw err;
    }
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
