/**
 * The Coordination port: what several Berth processes sharing one store must agree on at the
 * moment it happens, as opposed to what they record (the MetadataStore).
 *
 * - `withLock`: one critical section per key across every process (a repository's index.json
 *   rewrite, a GC sweep of that repository, an upload session's append). FIFO within a process;
 *   across processes whoever takes the lease first.
 * - `tryLease`: a named lease with an expiry, renewed by its holder; when the holder dies the lease
 *   lapses and another process may take it. The building block of the two below.
 * - `leadership`: leader election for the periodic jobs (GC, retention, scrub, periodic sync, purges):
 *   exactly one live process runs each.
 * - `singleFlight`: one run per key at a time across processes (the pull-through cache fetching one
 *   upstream image), callers in the same process sharing one result.
 *
 * The SQLite implementation (`meta/sqlite/coordination.ts`) keeps lease rows in the metadata
 * database under `BEGIN IMMEDIATE`, so it holds across processes on one machine; a PostgreSQL one
 * will use the same rows with `SELECT … FOR UPDATE`. Nothing here leaks a transaction or a handle.
 */

export interface Lease {
  readonly name: string;
  /**
   * Increases every time the lease changes hands: a fencing token. A holder that paused past its
   * expiry can tell, by comparing tokens, that someone else held the lease meanwhile.
   */
  readonly token: number;
  /** Extends the lease by its time to live; false when it was lost (expired and taken). */
  renew(): Promise<boolean>;
  /** Gives the lease up at once (idempotent). */
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long the lease survives its holder's death; renewed while the holder works. Default 30 s. */
  ttlMs?: number;
}

export interface Leadership {
  readonly job: string;
  /**
   * Whether this process leads the job now: takes the lease when free or lapsed, renews it when
   * held. Call it before each run (and the runner renews while a run lasts).
   */
  check(): Promise<boolean>;
  /** Steps down (at shutdown), so another process takes over without waiting for expiry. */
  resign(): Promise<void>;
}

export interface Coordination {
  /** Runs `fn` while holding the lock `key` in every process sharing the store. */
  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  /** Takes the lease `name` for `ttlMs` unless another live holder has it. */
  tryLease(name: string, ttlMs: number): Promise<Lease | undefined>;
  /** Leader election for one periodic job; the lease lapses `ttlMs` after the leader stops renewing. */
  leadership(job: string, ttlMs: number): Leadership;
  /**
   * Runs `fn` for `key` unless a run is already going: in this process the caller joins it; in
   * another process the caller waits for it to end and then runs `fn` itself (which should first
   * look whether the other process's run already did the work, e.g. stored the blob).
   */
  singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Releases every lease this instance holds. */
  close(): Promise<void>;
}

/** The lock key of a repository's index (manifests and tags), taken by pushes, deletes and GC. */
export function repositoryLockKey(repo: string): string {
  return `repo:${repo}`;
}

/** The lease key of an upload session. */
export function uploadLeaseKey(id: string): string {
  return `upload:${id}`;
}
