/**
 * The RegistryIndex port: the registry's hot metadata (which repositories exist, their manifests,
 * tags, referrers and which blobs each repository holds). Written only by the registry services,
 * right after the OCI layout (the truth) changed; rebuilt from the layouts by `registry/reconcile.ts`.
 * Implementations: `sqlite/registry-index.ts` (today), PostgreSQL (next). Every method is async so
 * that a network database fits; the SQLite one answers from a synchronous handle in microseconds,
 * so the hot reads (tag → manifest) stay in-process fast and need no cache that could go stale when
 * another process writes.
 */

export interface ManifestRecord {
  repo: string;
  digest: string;
  mediaType: string;
  size: number;
  /** For referrers: the manifest's artifactType, or its config's media type (image manifests). */
  artifactType: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  pushedAt: number;
  /** Digests this manifest needs: config, layers, child manifests. */
  references: string[];
}

export interface TagRecord {
  tag: string;
  digest: string;
  pushedAt: number;
}

/** Everything a repository's OCI layout says, as reconciliation read it. */
export interface RepositorySnapshot {
  repo: string;
  /** The stamp (size and mtime) of the index.json it was read from. */
  stamp: string;
  manifests: ManifestRecord[];
  tags: TagRecord[];
  blobs: { digest: string; size: number }[];
}

export interface RegistryIndex {
  repositoryExists(repo: string): Promise<boolean>;
  /** The stamp (size and mtime) of the repository's index.json when it was last indexed. */
  stamp(repo: string): Promise<string | undefined>;
  allStamps(): Promise<Map<string, string>>;
  /** Repositories holding at least one manifest, in byte order, after `after`. */
  catalog(after: string, limit: number): Promise<string[]>;
  resolveTag(repo: string, tag: string): Promise<ManifestRecord | undefined>;
  tags(repo: string): Promise<TagRecord[]>;
  /** Tag names in byte order after `after`, at most `limit`. */
  tagsPage(repo: string, after: string, limit: number): Promise<string[]>;
  tagsForDigest(repo: string, digest: string): Promise<string[]>;
  /** One manifest with its references. */
  manifest(repo: string, digest: string): Promise<ManifestRecord | undefined>;
  /** Every manifest of a repository (without references). */
  manifests(repo: string): Promise<ManifestRecord[]>;
  referrers(repo: string, subject: string): Promise<ManifestRecord[]>;
  /** Manifests of `repo` that reference `digest` (as config, layer or child). */
  referencedBy(repo: string, digest: string): Promise<string[]>;
  /** Repositories holding the blob, in byte order. */
  blobHolders(digest: string): Promise<string[]>;
  /**
   * The first repository in byte order holding the blob, other than `except`: one row, however
   * many repositories share the blob (a base layer may be in thousands), for a caller that needs
   * just one copy or to know whether any is left.
   */
  blobHolder(digest: string, except?: string): Promise<string | undefined>;
  /** The size recorded for the repository's blob, or undefined when the repository does not hold it. */
  blobSize(repo: string, digest: string): Promise<number | undefined>;
  /** Every blob the repository holds (a content-addressed store's membership rows), in digest order. */
  repositoryBlobs(repo: string): Promise<{ digest: string; size: number }[]>;
  /** Bytes of the blobs each repository holds (a blob shared by two repositories counts in both). */
  repositorySizes(): Promise<{ repo: string; bytes: number }[]>;
  addBlob(repo: string, digest: string, size: number): Promise<void>;
  removeBlob(repo: string, digest: string): Promise<void>;
  /** Records a manifest write: the manifest row, its references and the tags now pointing at it. */
  recordManifest(record: ManifestRecord, tags: string[], stamp: string): Promise<void>;
  removeTag(repo: string, tag: string, stamp: string): Promise<void>;
  /**
   * Removes a manifest with its tags, references, its own blob membership and, in the same
   * transaction, the rows that live only as long as it (`manifest-dependents.ts`).
   */
  removeManifest(repo: string, digest: string, stamp: string): Promise<void>;
  /**
   * Replaces everything known about each repository (reconciliation from its OCI layout), all in
   * one transaction; the rows of manifests a repository no longer holds go with them, those of the
   * others stay. Reconciliation passes repositories in batches: one commit per repository was most
   * of a large store's start-up.
   */
  replaceRepositories(snapshots: readonly RepositorySnapshot[]): Promise<void>;
  /** Removes a repository's records, and the rows of its manifests (`manifest-dependents.ts`). */
  deleteRepository(repo: string): Promise<void>;
  /**
   * Deletes the rows of manifests and repositories no longer indexed (`manifest-dependents.ts`)
   * that were written after they went; returns how many. Run after every GC sweep.
   */
  purgeOrphans(): Promise<number>;
}
