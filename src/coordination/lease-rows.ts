/**
 * The Coordination port built on lease rows, whatever database keeps them: a lease is a row
 * naming its holder, a fencing token and an expiry; taking, renewing and releasing it are each one
 * atomic step of the database (the subclass's three methods). Everything else — the lock that
 * waits for a lease, leadership, single flight, what a holder gives back at close — is the same
 * rule for every database and lives here once.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Coordination, Leadership, Lease, LockOptions } from './coordination.js';
import { KeyedLock } from './keyed-lock.js';

const DEFAULT_TTL_MS = 30_000;

export interface PollDelays {
  /** The first wait between looks at a lease held elsewhere. */
  firstMs: number;
  /** The longest wait; each look doubles the wait up to this, with jitter. */
  maxMs: number;
}

export abstract class LeaseRowCoordination implements Coordination {
  /** Who holds a lease: host, pid and a random id per instance (two instances in one process differ). */
  protected readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #local = new KeyedLock();
  readonly #flights = new Map<string, Promise<unknown>>();
  /** Leases this instance holds: name → token. */
  readonly #held = new Map<string, number>();

  protected constructor(private readonly poll: PollDelays) {}

  /** Takes the lease when it is free, expired or already ours; returns its new fencing token. */
  protected abstract takeRow(name: string, ttlMs: number): Promise<number | undefined>;
  /** Extends our lease; false when it is no longer ours. */
  protected abstract renewRow(name: string, token: number, ttlMs: number): Promise<boolean>;
  /** Gives our lease back (nothing when it is no longer ours). */
  protected abstract releaseRow(name: string, token: number): Promise<void>;

  /** Waits before looking at a held lease again; a database that can announce releases wakes early. */
  protected waitForRelease(_name: string, delayMs: number): Promise<void> {
    return sleep(delayMs);
  }

  async tryLease(name: string, ttlMs: number): Promise<Lease | undefined> {
    const token = await this.takeRow(name, ttlMs);
    return token === undefined ? undefined : this.#lease(name, token, ttlMs);
  }

  #lease(name: string, token: number, ttlMs: number): Lease {
    this.#held.set(name, token);
    let released = false;
    return {
      name,
      token,
      // Async all the way, so that a database error becomes a rejection the caller handles,
      // never a throw inside a timer.
      renew: async () => !released && (await this.renewRow(name, token, ttlMs)),
      release: async () => {
        if (released) return;
        released = true;
        if (this.#held.get(name) === token) this.#held.delete(name);
        await this.releaseRow(name, token);
      },
    };
  }

  async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    // Waiters of one process queue in memory first (FIFO), so only one of them polls per key.
    return this.#local.run(key, async () => {
      const lease = await this.#waitFor(key, ttlMs);
      // Renewed while the work lasts, so a long critical section (a GC sweep of a big repository)
      // keeps its lock; only a dead process's lease lapses. A failed renewal is tried next tick.
      const renewal = setInterval(
        () => void lease.renew().catch(() => false),
        Math.max(1, Math.floor(ttlMs / 3)),
      );
      renewal.unref();
      try {
        return await fn();
      } finally {
        clearInterval(renewal);
        // Not waited for: holding the lease a moment longer is always safe, and the caller's answer
        // need not wait for one more commit (issue 14: a manifest push's 201 came ~1 ms sooner at
        // 8 clients). The next waiter of this process takes the lease after this release (one
        // write queue on SQLite; a newer token on PostgreSQL, which the late release then no
        // longer matches). A release that fails (a full or unreachable database) leaves a lease
        // that lapses on its own; the work itself succeeded and must not be reported as failed.
        void lease.release().catch(() => undefined);
      }
    });
  }

  async #waitFor(name: string, ttlMs: number): Promise<Lease> {
    let delay = this.poll.firstMs;
    for (;;) {
      const lease = await this.tryLease(name, ttlMs);
      if (lease) return lease;
      await this.waitForRelease(name, delay * (0.5 + Math.random()));
      delay = Math.min(this.poll.maxMs, delay * 2);
    }
  }

  leadership(job: string, ttlMs: number): Leadership {
    const name = `leader:${job}`;
    let lease: Lease | undefined;
    return {
      job,
      check: async () => {
        if (lease && (await lease.renew())) return true;
        lease = await this.tryLease(name, ttlMs);
        return lease !== undefined;
      },
      resign: async () => {
        await lease?.release();
        lease = undefined;
      },
    };
  }

  singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#flights.get(key) as Promise<T> | undefined;
    if (running) return running;
    const flight = this.withLock(`flight:${key}`, fn, { ttlMs: 60_000 }).finally(() =>
      this.#flights.delete(key),
    );
    this.#flights.set(key, flight);
    return flight;
  }

  /** Gives back every lease still held; one that cannot be given back lapses by itself. */
  async close(): Promise<void> {
    const held = [...this.#held];
    this.#held.clear();
    await Promise.all(held.map(([name, token]) => this.releaseRow(name, token).catch(() => undefined)));
  }
}
