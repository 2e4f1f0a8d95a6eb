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

/** Both tables as stored: `berth migrate` carries them. */
export interface DownloadCountRows {
  /** One row per (repository, manifest): `count` downloads, the last at `lastPullAt`. */
  manifests: Pull[];
  /** Downloads per repository (they outlive the manifests counted: a sum is not enough). */
  repositories: { repo: string; count: number }[];
}

export interface DownloadCounts {
  /** Adds pulls (a manifest may appear more than once) in one transaction. */
  record(pulls: readonly Pull[]): Promise<void>;
  ofManifest(repo: string, digest: string): Promise<ManifestDownloads | undefined>;
  ofRepository(repo: string): Promise<number>;
  /** Downloads per repository, for repositories pulled at least once. */
  perRepository(): Promise<Map<string, number>>;
  /** Every row of both tables: `berth migrate`. */
  exportAll(): Promise<DownloadCountRows>;
  /**
   * Writes exported rows idempotently: each count becomes the larger of the given one and the
   * one here (never added, so a resumed migration counts nothing twice; never lowered, so pulls
   * served here meanwhile stay), and so does each last pull time. Resolves with how many rows
   * were written.
   */
  restore(rows: DownloadCountRows): Promise<number>;
}
