/**
 * The DownloadCounts port: download counts and last-pull times of manifests and repositories, for
 * the search extension's `DownloadCount`, `LastPullTimestamp` and `DOWNLOADS` sort. Pulls arrive
 * on the hot read path, so callers batch them (`record` takes many at once); the counts live in the
 * metadata store so every replica adds to the same numbers, and an addition is atomic: replicas
 * recording at once never lose one another's pulls.
 * SQLite: `sqlite/download-counts.ts`; PostgreSQL: `postgres/download-counts.ts`.
 */

export interface Pull {
  repo: string;
  digest: string;
  count: number;
  lastPullAt: number;
}

export interface ManifestDownloads {
  count: number;
  lastPullAt: number;
}

export interface DownloadCounts {
  /** Adds pulls (a manifest may appear more than once) in one transaction. */
  record(pulls: readonly Pull[]): Promise<void>;
  ofManifest(repo: string, digest: string): Promise<ManifestDownloads | undefined>;
  ofRepository(repo: string): Promise<number>;
  /** Downloads per repository, for repositories pulled at least once. */
  perRepository(): Promise<Map<string, number>>;
}
