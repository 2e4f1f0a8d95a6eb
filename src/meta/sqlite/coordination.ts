/**
 * The Coordination port on the SQLite metadata database: leases are rows, taken and renewed in
 * `BEGIN IMMEDIATE` transactions, so the check-then-take is atomic across every process (and every
 * handle) on one database file. A lease names its holder (host, pid and a random id per instance)
 * and its expiry; a holder that dies stops renewing, and the lease lapses after its time to live.
 *
 * Waiting for a lease held elsewhere polls with a short, growing, jittered delay: SQLite has no way
 * to notify another process. What is not about rows is `LeaseRowCoordination`'s.
 */
import { LeaseRowCoordination } from '../../coordination/lease-rows.js';
import { migrateModule, type Db } from '../database.js';
import { writeBatchOf, type WriteBatch } from './write-batch.js';

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

export interface SqliteCoordinationOptions {
  /** The clock lease expiries are compared with (tests). */
  now?: () => number;
}

export class SqliteCoordination extends LeaseRowCoordination {
  readonly #now: () => number;
  readonly #take: (name: string, ttlMs: number) => number | undefined;
  readonly #renew: (name: string, token: number, ttlMs: number) => boolean;
  readonly #release: (name: string, token: number) => void;
  /** Every manifest push takes and gives back a repository lease: group-committed (write-batch.ts). */
  readonly #batch: WriteBatch;

  constructor(db: Db, options: SqliteCoordinationOptions = {}) {
    super({ firstMs: 2, maxMs: 100 });
    migrateModule(db, 'coordination', COORDINATION_MIGRATIONS);
    this.#now = options.now ?? Date.now;
    this.#batch = writeBatchOf(db);
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
      if (row !== undefined && row.expiresAt > now && row.holder !== this.holder) return undefined;
      const token = s.fence.get() as number;
      s.put.run(name, this.holder, token, now + ttlMs);
      return token;
    });
    // IMMEDIATE: the read and the write happen under the database's write lock, so two processes
    // cannot both see the lease free.
    this.#take = (name, ttlMs) => take.immediate(name, ttlMs);
    this.#renew = (name, token, ttlMs) =>
      s.renew.run(this.#now() + ttlMs, name, this.holder, token).changes > 0;
    this.#release = (name, token) => {
      s.release.run(name, this.holder, token);
    };
  }

  protected async takeRow(name: string, ttlMs: number): Promise<number | undefined> {
    return this.#batch.run(() => this.#take(name, ttlMs));
  }

  protected async renewRow(name: string, token: number, ttlMs: number): Promise<boolean> {
    return this.#renew(name, token, ttlMs);
  }

  protected async releaseRow(name: string, token: number): Promise<void> {
    await this.#batch.run(() => this.#release(name, token));
  }
}
