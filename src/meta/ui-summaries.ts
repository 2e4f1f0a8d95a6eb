/**
 * The UiSummaries port: what the web UI's repository list and tag pages read, kept ready per
 * repository (last update, size, newest tag) and per manifest (platforms, image size). Freshness
 * across processes comes from the store's change counter (SQLite's `data_version`), checked on
 * every request: a push through another process shows at once. SQLite implementation:
 * `sqlite/ui-summaries.ts`. Nothing here decides who may see what: callers filter names.
 */

/** The longest a change that raised no registry event may stay unseen by the repository list. */
export const FULL_CHECK_MS = 15_000;

export interface QueryOptions {
  /** The clock (tests). */
  now?: () => number;
  /** From how many stale summaries on they are all recomputed at once. */
  bulkRefreshFrom?: number;
}

export type RepoSort = 'name' | 'updated' | 'size';
export type SortDirection = 'asc' | 'desc';

export interface RepoSummary {
  name: string;
  tagCount: number;
  /** Bytes of every distinct blob the repository holds (layers, configs, manifests), each once. */
  size: number;
  /** Milliseconds since the epoch of the last manifest or tag push. */
  updatedAt: number;
  /** The most recently pushed tag. */
  newestTag: string | null;
  newestDigest: string | null;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** What the UI derives once from a manifest's content. */
export interface ManifestInfo {
  /** Manifest, config and layers; for an index, itself plus its children's image sizes. */
  imageSize: number;
  platforms: Platform[];
}

export interface TagRow {
  tag: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  /** Bytes of the manifest itself. */
  manifestSize: number;
  pushedAt: number;
}

export type TagSort = 'pushed' | 'name';

/** Where a tag filter must occur in a tag's name (case-insensitive): anywhere, or at its start. */
export type TagMatch = 'contains' | 'prefix';

/**
 * The LIKE pattern (`ESCAPE '\'`) of a tag filter: `%`, `_` and `\` in it match themselves. Both
 * implementations compare it with `lower(tag)`.
 */
export function tagLikePattern(filter: string, match: TagMatch): string {
  const literal = filter
    .trim()
    .toLowerCase()
    .replace(/[\\%_]/g, (c) => `\\${c}`);
  return match === 'prefix' ? `${literal}%` : `%${literal}%`;
}

/** A page of rows: skip `offset`, then at most `limit`. */
export interface TagWindow {
  offset: number;
  limit: number;
}

export interface UiSummaries {
  /** Repositories whose summary is missing or older than their index.json. */
  staleRepositories(): Promise<string[]>;
  /** Recomputes stale summaries (at most `limit`); returns how many stale ones remain. */
  refreshSummaries(limit?: number): Promise<number>;
  /** Makes the summaries current enough to answer a request. */
  ensureFresh(): Promise<void>;
  /** Changes whenever any summary changed; lets callers cache what they derive from summaries. */
  readonly generation: number;
  /** Marks a repository's summary out of date (a registry event touched it in this process). */
  invalidate(repo: string): void;
  repositoryNames(filter: string, sort: RepoSort, direction: SortDirection): Promise<string[]>;
  orderedNames(sort: RepoSort, direction: SortDirection): Promise<string[]>;
  summary(name: string): Promise<RepoSummary | undefined>;
  /**
   * Tags of a repository with their manifests' facts, whose name contains `filter` (or starts
   * with it); with `window`, only those rows, chosen by the database (a page of a repository with
   * 100,000 tags neither sorts nor builds them all in the process).
   */
  tags(repo: string, filter: string, sort: TagSort, window?: TagWindow, match?: TagMatch): Promise<TagRow[]>;
  /** How many rows `tags` gives without a window. */
  tagMatches(repo: string, filter: string, match?: TagMatch): Promise<number>;
  tagCount(repo: string): Promise<number>;
  manifestInfo(digest: string): Promise<ManifestInfo | undefined>;
  saveManifestInfo(digest: string, info: ManifestInfo): Promise<void>;
}
