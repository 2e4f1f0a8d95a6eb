/**
 * The ImageFacts port: what the search extension derives once from a manifest's content (config,
 * layers, history, annotations, children), keyed by digest alone: equal digests have equal content,
 * so the facts hold in every repository. Reading them is one indexed row instead of a manifest and
 * a config from storage; this is what keeps `ExpandedRepoInfo` of 100 tags fast. The documents are
 * JSON; their reader fixes the type (and versions it: a `put` replaces facts of an older shape).
 * SQLite: `sqlite/image-facts.ts`; PostgreSQL: `postgres/image-facts.ts`.
 */

export interface ImageFactsStore<T> {
  get(digest: string): Promise<T | undefined>;
  /** Stores the facts of `digest`, replacing any stored before. */
  put(digest: string, facts: T): Promise<void>;
}
