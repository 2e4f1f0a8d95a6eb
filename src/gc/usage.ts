/**
 * What retention needs to know about use: when each manifest was last pulled (push times are in
 * the registry index already), and which blobs were just stored, so that a sweep never collects a
 * blob a client was told a moment ago that the registry holds.
 */
import type { Db } from '../meta/database.js';
import { LruMap } from '../registry/lru.js';

/** Migrations of the `gc` module's tables (see `migrateModule`). */
export const GC_MIGRATIONS = [
  `CREATE TABLE gc_pulls (
     repo TEXT NOT NULL,
     digest TEXT NOT NULL,
     pulled_at INTEGER NOT NULL,
     PRIMARY KEY (repo, digest)
   ) WITHOUT ROWID;`,
];

/**
 * Last-pull times per manifest. Pulls are the hottest path, so they are buffered in memory and
 * written in one transaction at `flush()` (every few seconds, before each sweep, at shutdown).
 */
export class PullLedger {
  private pending = new Map<string, { repo: string; digest: string; at: number }>();
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      upsert: db.prepare(
        `INSERT INTO gc_pulls (repo, digest, pulled_at) VALUES (?, ?, ?)
         ON CONFLICT (repo, digest) DO UPDATE SET pulled_at = MAX(pulled_at, excluded.pulled_at)`,
      ),
      ofRepo: db.prepare('SELECT digest, pulled_at AS pulledAt FROM gc_pulls WHERE repo = ?'),
      forget: db.prepare('DELETE FROM gc_pulls WHERE repo = ? AND digest = ?'),
    };
  }

  record(repo: string, digest: string, at: number): void {
    this.pending.set(`${repo}@${digest}`, { repo, digest, at });
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.db.transaction(() => {
      for (const p of batch.values()) this.s.upsert.run(p.repo, p.digest, p.at);
    })();
  }

  /** Last pull per digest of `repo` (digests never pulled are absent). */
  lastPulls(repo: string): Map<string, number> {
    this.flush();
    const rows = this.s.ofRepo.all(repo) as { digest: string; pulledAt: number }[];
    return new Map(rows.map((r) => [r.digest, r.pulledAt]));
  }

  /** Drops the statistics of manifests that are gone. */
  forget(repo: string, digests: Iterable<string>): void {
    this.db.transaction(() => {
      for (const digest of digests) this.s.forget.run(repo, digest);
    })();
  }
}

/**
 * Blobs stored (uploaded, mounted, linked, or uploaded again while already present) by this process
 * recently. A blob uploaded again keeps its old file and mtime, yet the client now believes it is
 * there and will push a manifest naming it: for `gcDelay` the sweep treats it as young.
 */
export class RecentBlobs {
  private readonly seen = new LruMap<string, number>(200_000);

  record(repo: string, digest: string, at: number): void {
    this.seen.set(`${repo}@${digest}`, at);
  }

  /** When the blob was last stored by this process, or undefined. */
  storedAt(repo: string, digest: string): number | undefined {
    return this.seen.get(`${repo}@${digest}`);
  }
}
