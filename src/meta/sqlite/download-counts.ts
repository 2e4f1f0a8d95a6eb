/**
 * The DownloadCounts port on SQLite: tables `search_manifest_downloads` and `search_repo_downloads`
 * (module `search-download-counts`, as released). Each addition is `count = count + n` inside one
 * IMMEDIATE transaction, so processes adding at once never lose a pull.
 */
import { migrateModule, type Db } from '../database.js';
import type { DownloadCountRows, DownloadCounts, ManifestDownloads, Pull } from '../download-counts.js';

const DOWNLOAD_COUNT_MIGRATIONS = [
  `CREATE TABLE search_manifest_downloads (
     repo TEXT NOT NULL,
     digest TEXT NOT NULL,
     count INTEGER NOT NULL,
     last_pull_at INTEGER NOT NULL,
     PRIMARY KEY (repo, digest)
   ) WITHOUT ROWID;
   CREATE TABLE search_repo_downloads (
     repo TEXT PRIMARY KEY,
     count INTEGER NOT NULL
   ) WITHOUT ROWID;`,
];

export class SqliteDownloadCounts implements DownloadCounts {
  private readonly s;

  constructor(private readonly db: Db) {
    migrateModule(db, 'search-download-counts', DOWNLOAD_COUNT_MIGRATIONS);
    this.s = {
      addManifest: db.prepare(
        `INSERT INTO search_manifest_downloads (repo, digest, count, last_pull_at) VALUES (@repo, @digest, @count, @lastPullAt)
         ON CONFLICT (repo, digest) DO UPDATE SET count = count + excluded.count,
           last_pull_at = MAX(last_pull_at, excluded.last_pull_at)`,
      ),
      addRepo: db.prepare(
        `INSERT INTO search_repo_downloads (repo, count) VALUES (@repo, @count)
         ON CONFLICT (repo) DO UPDATE SET count = count + excluded.count`,
      ),
      manifest: db.prepare(
        'SELECT count, last_pull_at AS lastPullAt FROM search_manifest_downloads WHERE repo = ? AND digest = ?',
      ),
      repo: db.prepare('SELECT count FROM search_repo_downloads WHERE repo = ?').pluck(),
      repos: db.prepare('SELECT repo, count FROM search_repo_downloads'),
      allManifests: db.prepare(
        'SELECT repo, digest, count, last_pull_at AS lastPullAt FROM search_manifest_downloads ORDER BY repo, digest',
      ),
      allRepos: db.prepare('SELECT repo, count FROM search_repo_downloads ORDER BY repo'),
      restoreManifest: db.prepare(
        `INSERT INTO search_manifest_downloads (repo, digest, count, last_pull_at) VALUES (@repo, @digest, @count, @lastPullAt)
         ON CONFLICT (repo, digest) DO UPDATE SET count = MAX(count, excluded.count),
           last_pull_at = MAX(last_pull_at, excluded.last_pull_at)
         WHERE excluded.count > count OR excluded.last_pull_at > last_pull_at`,
      ),
      restoreRepo: db.prepare(
        `INSERT INTO search_repo_downloads (repo, count) VALUES (@repo, @count)
         ON CONFLICT (repo) DO UPDATE SET count = excluded.count WHERE excluded.count > count`,
      ),
    };
  }

  async record(pulls: readonly Pull[]): Promise<void> {
    if (pulls.length === 0) return;
    this.db
      .transaction(() => {
        for (const pull of pulls) {
          this.s.addManifest.run(pull);
          this.s.addRepo.run({ repo: pull.repo, count: pull.count });
        }
      })
      .immediate();
  }

  async ofManifest(repo: string, digest: string): Promise<ManifestDownloads | undefined> {
    return this.s.manifest.get(repo, digest) as ManifestDownloads | undefined;
  }

  async ofRepository(repo: string): Promise<number> {
    return (this.s.repo.get(repo) as number | undefined) ?? 0;
  }

  async perRepository(): Promise<Map<string, number>> {
    const rows = this.s.repos.all() as { repo: string; count: number }[];
    return new Map(rows.map((r) => [r.repo, r.count]));
  }

  async exportAll(): Promise<DownloadCountRows> {
    return {
      manifests: this.s.allManifests.all() as Pull[],
      repositories: this.s.allRepos.all() as { repo: string; count: number }[],
    };
  }

  async restore(rows: DownloadCountRows): Promise<number> {
    return this.db
      .transaction(() => {
        let written = 0;
        for (const m of rows.manifests) written += this.s.restoreManifest.run(m).changes;
        for (const r of rows.repositories) written += this.s.restoreRepo.run(r).changes;
        return written;
      })
      .immediate();
  }
}
