/** The pull-times and recent-blob ports on PostgreSQL (the `gc` module's tables). */
import type { PullTimes, RecentBlobTimes } from '../pull-times.js';
import type { Migrations, Pool } from './database.js';

export const GC_MIGRATIONS: Migrations = {
  module: 'gc',
  steps: [
    `CREATE TABLE gc_pulls (
       repo TEXT NOT NULL,
       digest TEXT NOT NULL,
       pulled_at BIGINT NOT NULL,
       PRIMARY KEY (repo, digest)
     );
     CREATE TABLE gc_recent_blobs (
       repo TEXT NOT NULL,
       digest TEXT NOT NULL,
       stored_at BIGINT NOT NULL,
       PRIMARY KEY (repo, digest)
     );
     CREATE INDEX gc_recent_blobs_age ON gc_recent_blobs (stored_at);`,
  ],
};

export class PostgresPullTimes implements PullTimes {
  constructor(private readonly pool: Pool) {}

  /** One statement for the whole batch, the latest time per manifest kept. */
  async record(pulls: Iterable<{ repo: string; digest: string; at: number }>): Promise<void> {
    // Latest per key first: one statement may not update one row twice.
    const latest = new Map<string, { repo: string; digest: string; at: number }>();
    for (const p of pulls) {
      const key = `${p.repo}\n${p.digest}`;
      const seen = latest.get(key);
      if (!seen || seen.at < p.at) latest.set(key, p);
    }
    if (latest.size === 0) return;
    const rows = [...latest.values()];
    await this.pool.query(
      `INSERT INTO gc_pulls (repo, digest, pulled_at) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
       ON CONFLICT (repo, digest) DO UPDATE SET pulled_at = GREATEST(gc_pulls.pulled_at, excluded.pulled_at)`,
      [rows.map((r) => r.repo), rows.map((r) => r.digest), rows.map((r) => r.at)],
    );
  }

  async lastPulls(repo: string): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ digest: string; pulled_at: number }>(
      'SELECT digest, pulled_at FROM gc_pulls WHERE repo = $1',
      [repo],
    );
    return new Map(rows.map((r) => [r.digest, r.pulled_at]));
  }

  async forget(repo: string, digests: Iterable<string>): Promise<void> {
    const list = [...digests];
    if (list.length === 0) return;
    await this.pool.query('DELETE FROM gc_pulls WHERE repo = $1 AND digest = ANY($2::text[])', [repo, list]);
  }
}

export class PostgresRecentBlobs implements RecentBlobTimes {
  constructor(private readonly pool: Pool) {}

  async record(stores: Iterable<{ repo: string; digest: string; at: number }>): Promise<void> {
    // One statement for the batch; a key twice in one INSERT ... ON CONFLICT is an error in
    // PostgreSQL, so the batch is reduced to the latest time per key first.
    const latest = new Map<string, { repo: string; digest: string; at: number }>();
    for (const s of stores) {
      const key = `${s.repo}@${s.digest}`;
      if ((latest.get(key)?.at ?? -Infinity) < s.at) latest.set(key, s);
    }
    if (latest.size === 0) return;
    const rows = [...latest.values()];
    await this.pool.query(
      `INSERT INTO gc_recent_blobs (repo, digest, stored_at)
       SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
       ON CONFLICT (repo, digest) DO UPDATE SET stored_at = GREATEST(gc_recent_blobs.stored_at, excluded.stored_at)`,
      [rows.map((r) => r.repo), rows.map((r) => r.digest), rows.map((r) => r.at)],
    );
  }

  async storedAt(repo: string, digest: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ stored_at: number }>(
      'SELECT stored_at FROM gc_recent_blobs WHERE repo = $1 AND digest = $2',
      [repo, digest],
    );
    return rows[0]?.stored_at;
  }

  async purge(before: number): Promise<void> {
    await this.pool.query('DELETE FROM gc_recent_blobs WHERE stored_at < $1', [before]);
  }
}
