/**
 * What the search extension reads from the metadata database, as async interfaces: the registry
 * index's reads and the UI's repository summaries. Their method names and shapes are those of the
 * metadata store's ports (the registry index and the UI summaries), so that once those ports are
 * async the extension takes them as they are; until then `asyncReads` adapts the synchronous
 * `RegistryIndex` and `UiQueries`.
 */
import type { ManifestRecord, RegistryIndex } from '../meta/registry-index.js';
import type {
  RepoSort,
  RepoSummary,
  SortDirection,
  TagMatch,
  TagRow,
  TagSort,
  TagWindow,
  UiSummaries as UiQueries,
} from '../meta/ui-summaries.js';

export interface IndexReads {
  repositoryExists(repo: string): Promise<boolean>;
  resolveTag(repo: string, tag: string): Promise<ManifestRecord | undefined>;
  tagsForDigest(repo: string, digest: string): Promise<string[]>;
  manifest(repo: string, digest: string): Promise<ManifestRecord | undefined>;
  referrers(repo: string, subject: string): Promise<ManifestRecord[]>;
  /** Manifests of `repo` that reference `digest` (as config, layer or child). */
  referencedBy(repo: string, digest: string): Promise<string[]>;
  /** Repositories holding `digest` (a blob or a manifest). */
  blobHolders(digest: string): Promise<string[]>;
}

export interface SummaryReads {
  /** Makes the summaries current enough to answer a request. */
  ensureFresh(): Promise<void>;
  /** Moves whenever a summary changes (caches built on summaries compare it). */
  readonly generation: number;
  orderedNames(sort: RepoSort, direction: SortDirection): Promise<string[]>;
  summary(name: string): Promise<RepoSummary | undefined>;
  tags(repo: string, filter: string, sort: TagSort, window?: TagWindow, match?: TagMatch): Promise<TagRow[]>;
  /** How many rows `tags` gives without a window. */
  tagMatches(repo: string, filter: string, match?: TagMatch): Promise<number>;
}

export function asyncReads(
  index: RegistryIndex,
  queries: UiQueries,
): { index: IndexReads; summaries: SummaryReads } {
  return {
    index: {
      repositoryExists: async (repo) => index.repositoryExists(repo),
      resolveTag: async (repo, tag) => index.resolveTag(repo, tag),
      tagsForDigest: async (repo, digest) => index.tagsForDigest(repo, digest),
      manifest: async (repo, digest) => index.manifest(repo, digest),
      referrers: async (repo, subject) => index.referrers(repo, subject),
      referencedBy: async (repo, digest) => index.referencedBy(repo, digest),
      blobHolders: async (digest) => index.blobHolders(digest),
    },
    summaries: {
      ensureFresh: async () => queries.ensureFresh(),
      get generation() {
        return queries.generation;
      },
      orderedNames: async (sort, direction) => queries.orderedNames(sort, direction),
      summary: async (name) => queries.summary(name),
      tags: async (repo, filter, sort, window, match) => queries.tags(repo, filter, sort, window, match),
      tagMatches: async (repo, filter, match) => queries.tagMatches(repo, filter, match),
    },
  };
}
