/**
 * The Coordination port on the SQLite metadata database: leases are rows, taken and renewed in
 * `BEGIN IMMEDIATE` transactions, so the check-then-take is atomic across every process (and every
 * handle) on one database file. A lease names its holder (host, pid and a random id per instance)
 * and its expiry; a holder that dies stops renewing, and the lease lapses after its time to live.
 *
 * Waiting for a lease held elsewhere polls with a short, growing, jittered delay: SQLite has no way
 * to notify another process. Within one process, waiters queue in memory first (FIFO), so only one
 * of them polls per key.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Coordination, Lease, Leadership, LockOptions } from '../../coordination/coordination.js';
import { KeyedLock } from '../../coordination/keyed-lock.js';
import { migrateModule, type Db } from '../database.js';

export const COORDINATION_MIGRATIONS = [
  `CREATE TABLE coord_leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     token INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE coord_fence (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
   INSERT INTO coord_fence (id, last) VALUES (1, 0);`,
];

const DEFAULT_TTL_MS = 30_000;
const POLL_FIRST_MS = 2;
const POLL_MAX_MS = 100;

export interface SqliteCoordinationOptions {
  /** The clock lease expiries are compared with (tests). */
  now?: () => number;
}

export class SqliteCoordination implements Coordination {
  readonly #holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #local = new KeyedLock();
  readonly #flights = new Map<string, Promise<unknown>>();
  /** Leases this instance holds: name → token. */
  readonly #held = new Map<string, number>();
  readonly #now: () => number;
  readonly #take: (name: string, ttlMs: number) => number | undefined;
  readonly #renew;
  readonly #release;

  constructor(db: Db, options: SqliteCoordinationOptions = {}) {
    migrateModule(db, 'coordination', COORDINATION_MIGRATIONS);
    this.#now = options.now ?? Date.now;
    const s = {
      get: db.prepare('SELECT holder, token, expires_at AS expiresAt FROM coord_leases WHERE name = ?'),
      fence: db.prepare('UPDATE coord_fence SET last = last + 1 WHERE id = 1 RETURNING last').pluck(),
      put: db.prepare(
        `INSERT INTO coord_leases (name, holder, token, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at`,
      ),
      renew: db.prepare('UPDATE coord_leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ?'),
      release: db.prepare('DELETE FROM coord_leases WHERE name = ? AND holder = ? AND token = ?'),
    };
    const take = db.transaction((name: string, ttlMs: number): number | undefined => {
      const now = this.#now();
      const row = s.get.get(name) as { holder: string; token: number; expiresAt: number } | undefined;
      if (row !== undefined && row.expiresAt > now && row.holder !== this.#holder) return undefined;
      const token = s.fence.get() as number;
      s.put.run(name, this.#holder, token, now + ttlMs);
      return token;
    });
    // IMMEDIATE: the read and the write happen under the database's write lock, so two processes
    // cannot both see the lease free.
    this.#take = (name, ttlMs) => take.immediate(name, ttlMs);
    this.#renew = (name: string, token: number, ttlMs: number): boolean =>
      s.renew.run(this.#now() + ttlMs, name, this.#holder, token).changes > 0;
    this.#release = (name: string, token: number): void => {
      s.release.run(name, this.#holder, token);
    };
  }

  async tryLease(name: string, ttlMs: number): Promise<Lease | undefined> {
    const token = this.#take(name, ttlMs);
    return token === undefined ? undefined : this.#lease(name, token, ttlMs);
  }

  #lease(name: string, token: number, ttlMs: number): Lease {
    this.#held.set(name, token);
    let released = false;
    return {
      name,
      token,
      // Async, so that a database error becomes a rejection the caller handles, never a throw
      // inside a timer.
      renew: async () => !released && this.#renew(name, token, ttlMs),
      release: async () => {
        if (released) return;
        released = true;
        if (this.#held.get(name) === token) this.#held.delete(name);
        this.#release(name, token);
      },
    };
  }

  async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    return this.#local.run(key, async () => {
      const lease = await this.#waitFor(key, ttlMs);
      // Renewed while the work lasts, so a long critical section (a GC sweep of a big repository)
      // keeps its lock; only a dead process's lease lapses.
      const renewal = setInterval(
        () => void lease.renew().catch(() => false),
        Math.max(1, Math.floor(ttlMs / 3)),
      );
      renewal.unref();
      try {
        return await fn();
      } finally {
        clearInterval(renewal);
        // A release that fails (a full or locked database) leaves a lease that lapses on its own;
        // the work itself succeeded and must not be reported as failed.
        await lease.release().catch(() => undefined);
      }
    });
  }

  async #waitFor(name: string, ttlMs: number): Promise<Lease> {
    let delay = POLL_FIRST_MS;
    for (;;) {
      const lease = await this.tryLease(name, ttlMs);
      if (lease) return lease;
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(POLL_MAX_MS, delay * 2);
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

  async close(): Promise<void> {
    for (const [name, token] of this.#held) {
      try {
        this.#release(name, token);
      } catch {
        // Lapses by itself.
      }
    }
    this.#held.clear();
  }
}
