/** The pull-times and recent-blob ports on SQLite (the `gc` module's tables). */
import { migrateModule, type Db } from '../database.js';
import { writeBatchOf, type WriteBatch } from './write-batch.js';
import type { PullTimes, RecentBlobTimes } from '../pull-times.js';

/** Migrations of the `gc` module's tables (see `migrateModule`). */
export const GC_MIGRATIONS = [
  `CREATE TABLE gc_pulls (
     repo TEXT NOT NULL,
     digest TEXT NOT NULL,
     pulled_at INTEGER NOT NULL,
     PRIMARY KEY (repo, digest)
   ) WITHOUT ROWID;`,
  `CREATE TABLE gc_recent_blobs (
     repo TEXT NOT NULL,
     digest TEXT NOT NULL,
     stored_at INTEGER NOT NULL,
     PRIMARY KEY (repo, digest)
   ) WITHOUT ROWID;
   CREATE INDEX gc_recent_blobs_age ON gc_recent_blobs (stored_at);`,
];

export class SqlitePullTimes implements PullTimes {
  private readonly s;

  constructor(private readonly db: Db) {
    migrateModule(db, 'gc', GC_MIGRATIONS);
    this.s = {
      upsert: db.prepare(
        `INSERT INTO gc_pulls (repo, digest, pulled_at) VALUES (?, ?, ?)
         ON CONFLICT (repo, digest) DO UPDATE SET pulled_at = MAX(pulled_at, excluded.pulled_at)`,
      ),
      ofRepo: db.prepare('SELECT digest, pulled_at AS pulledAt FROM gc_pulls WHERE repo = ?'),
      forget: db.prepare('DELETE FROM gc_pulls WHERE repo = ? AND digest = ?'),
    };
  }

  async record(pulls: Iterable<{ repo: string; digest: string; at: number }>): Promise<void> {
    this.db.transaction(() => {
      for (const p of pulls) this.s.upsert.run(p.repo, p.digest, p.at);
    })();
  }

  async lastPulls(repo: string): Promise<Map<string, number>> {
    const rows = this.s.ofRepo.all(repo) as { digest: string; pulledAt: number }[];
    return new Map(rows.map((r) => [r.digest, r.pulledAt]));
  }

  async forget(repo: string, digests: Iterable<string>): Promise<void> {
    this.db.transaction(() => {
      for (const digest of digests) this.s.forget.run(repo, digest);
    })();
  }
}

export class SqliteRecentBlobs implements RecentBlobTimes {
  private readonly s;
  /** On the push path: committed with the push's other rows (write-batch.ts). */
  private readonly batch: WriteBatch;

  constructor(db: Db) {
    this.batch = writeBatchOf(db);
    migrateModule(db, 'gc', GC_MIGRATIONS);
    this.s = {
      put: db.prepare(
        `INSERT INTO gc_recent_blobs (repo, digest, stored_at) VALUES (?, ?, ?)
         ON CONFLICT (repo, digest) DO UPDATE SET stored_at = MAX(stored_at, excluded.stored_at)`,
      ),
      get: db.prepare('SELECT stored_at FROM gc_recent_blobs WHERE repo = ? AND digest = ?').pluck(),
      purge: db.prepare('DELETE FROM gc_recent_blobs WHERE stored_at < ?'),
    };
  }

  async record(stores: Iterable<{ repo: string; digest: string; at: number }>): Promise<void> {
    const rows = [...stores];
    await this.batch.run(() => {
      for (const s of rows) this.s.put.run(s.repo, s.digest, s.at);
    });
  }

  async storedAt(repo: string, digest: string): Promise<number | undefined> {
    return this.s.get.get(repo, digest) as number | undefined;
  }

  async purge(before: number): Promise<void> {
    this.s.purge.run(before);
  }
}
