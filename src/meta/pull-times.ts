/**
 * The pull-times port: when each manifest was last pulled (retention's "pulled within"), shared by
 * every process, and when each blob was last stored in a repository (GC spares blobs a client was
 * just told the registry holds, whichever process told it). SQLite implementation:
 * `sqlite/pull-times.ts`.
 */
export interface PullTimes {
  /** Records pulls, keeping the latest time per manifest. */
  record(pulls: Iterable<{ repo: string; digest: string; at: number }>): Promise<void>;
  /** Last pull per digest of `repo` (digests never pulled are absent). */
  lastPulls(repo: string): Promise<Map<string, number>>;
  /** Drops the statistics of manifests that are gone. */
  forget(repo: string, digests: Iterable<string>): Promise<void>;
}

export interface RecentBlobTimes {
  /**
   * Blobs were stored (uploaded, mounted, linked, uploaded again), each in `repo` at `at`; one
   * write for the batch, keeping the latest time per blob and repository.
   */
  record(stores: Iterable<{ repo: string; digest: string; at: number }>): Promise<void>;
  /** When the blob was last stored in `repo`, if since `since`. */
  storedAt(repo: string, digest: string): Promise<number | undefined>;
  /** Forgets records older than `before`. */
  purge(before: number): Promise<void>;
}
