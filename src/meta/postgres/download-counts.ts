/**
 * The DownloadCounts port on PostgreSQL (module `search-download-counts`). A batch is two upserts
 * (`count = count + n`) in one transaction: PostgreSQL adds to the row it locks, so replicas
 * flushing at once never lose a pull. Rows are summed per key first (one statement may not update
 * a row twice) and locked in key order, manifests before repositories, so two batches touching the
 * same rows queue instead of deadlocking.
 */
import type { DownloadCountRows, DownloadCounts, ManifestDownloads, Pull } from '../download-counts.js';
import { transaction, type Migrations, type Pool } from './database.js';

export const DOWNLOAD_COUNT_MIGRATIONS: Migrations = {
  module: 'search-download-counts',
  steps: [
    `CREATE TABLE search_manifest_downloads (
       repo TEXT COLLATE "C" NOT NULL,
       digest TEXT COLLATE "C" NOT NULL,
       count BIGINT NOT NULL,
       last_pull_at BIGINT NOT NULL,
       PRIMARY KEY (repo, digest)
     );
     CREATE TABLE search_repo_downloads (
       repo TEXT COLLATE "C" PRIMARY KEY,
       count BIGINT NOT NULL
     );`,
  ],
};

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class PostgresDownloadCounts implements DownloadCounts {
  constructor(private readonly pool: Pool) {}

  async record(pulls: readonly Pull[]): Promise<void> {
    if (pulls.length === 0) return;
    const manifests = new Map<string, Pull>();
    const repos = new Map<string, number>();
    for (const pull of pulls) {
      const key = `${pull.repo}\n${pull.digest}`;
      const seen = manifests.get(key);
      if (seen) {
        seen.count += pull.count;
        seen.lastPullAt = Math.max(seen.lastPullAt, pull.lastPullAt);
      } else manifests.set(key, { ...pull });
      repos.set(pull.repo, (repos.get(pull.repo) ?? 0) + pull.count);
    }
    const m = [...manifests.values()].sort(
      (a, b) => byteOrder(a.repo, b.repo) || byteOrder(a.digest, b.digest),
    );
    const r = [...repos.entries()].sort(([a], [b]) => byteOrder(a, b));
    await transaction(this.pool, async (db) => {
      await db.query(
        `INSERT INTO search_manifest_downloads AS d (repo, digest, count, last_pull_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(repo, digest, count, at)
         ORDER BY u.repo COLLATE "C", u.digest COLLATE "C"
         ON CONFLICT (repo, digest) DO UPDATE SET count = d.count + excluded.count,
           last_pull_at = GREATEST(d.last_pull_at, excluded.last_pull_at)`,
        [m.map((p) => p.repo), m.map((p) => p.digest), m.map((p) => p.count), m.map((p) => p.lastPullAt)],
      );
      await db.query(
        `INSERT INTO search_repo_downloads AS d (repo, count)
         SELECT * FROM unnest($1::text[], $2::bigint[]) AS u(repo, count) ORDER BY u.repo COLLATE "C"
         ON CONFLICT (repo) DO UPDATE SET count = d.count + excluded.count`,
        [r.map(([repo]) => repo), r.map(([, n]) => n)],
      );
    });
  }

  async ofManifest(repo: string, digest: string): Promise<ManifestDownloads | undefined> {
    const { rows } = await this.pool.query<ManifestDownloads>(
      'SELECT count, last_pull_at AS "lastPullAt" FROM search_manifest_downloads WHERE repo = $1 AND digest = $2',
      [repo, digest],
    );
    return rows[0];
  }

  async ofRepository(repo: string): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>(
      'SELECT count FROM search_repo_downloads WHERE repo = $1',
      [repo],
    );
    return rows[0]?.count ?? 0;
  }

  async perRepository(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ repo: string; count: number }>(
      'SELECT repo, count FROM search_repo_downloads',
    );
    return new Map(rows.map((r) => [r.repo, r.count]));
  }

  async exportAll(): Promise<DownloadCountRows> {
    const manifests = await this.pool.query<Pull>(
      `SELECT repo, digest, count, last_pull_at AS "lastPullAt" FROM search_manifest_downloads ORDER BY repo, digest`,
    );
    const repositories = await this.pool.query<{ repo: string; count: number }>(
      'SELECT repo, count FROM search_repo_downloads ORDER BY repo',
    );
    return { manifests: manifests.rows, repositories: repositories.rows };
  }

  async restore(rows: DownloadCountRows): Promise<number> {
    const { manifests: m, repositories: r } = rows;
    return transaction(this.pool, async (db) => {
      let written = 0;
      if (m.length > 0)
        written +=
          (
            await db.query(
              `INSERT INTO search_manifest_downloads AS d (repo, digest, count, last_pull_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
               ON CONFLICT (repo, digest) DO UPDATE SET count = GREATEST(d.count, excluded.count),
                 last_pull_at = GREATEST(d.last_pull_at, excluded.last_pull_at)
               WHERE excluded.count > d.count OR excluded.last_pull_at > d.last_pull_at`,
              [
                m.map((p) => p.repo),
                m.map((p) => p.digest),
                m.map((p) => p.count),
                m.map((p) => p.lastPullAt),
              ],
            )
          ).rowCount ?? 0;
      if (r.length > 0)
        written +=
          (
            await db.query(
              `INSERT INTO search_repo_downloads AS d (repo, count)
               SELECT * FROM unnest($1::text[], $2::bigint[])
               ON CONFLICT (repo) DO UPDATE SET count = excluded.count WHERE excluded.count > d.count`,
              [r.map((x) => x.repo), r.map((x) => x.count)],
            )
          ).rowCount ?? 0;
      return written;
    });
  }
}
