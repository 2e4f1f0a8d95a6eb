/**
 * The one rule of which records live only as long as the manifest or repository they describe, so
 * that a registry whose manifests come and go (tags overwritten, old manifests deleted) keeps a
 * metadata database of bounded size. Both stores build their SQL from these lists: the registry
 * index deletes a manifest's dependent rows in the transaction that deletes the manifest, and
 * `purgeOrphans` (run after every GC sweep) deletes rows written after it went: a pull buffered by
 * the pull ledger and flushed after the delete, facts computed by a request that raced it.
 *
 * Not here: the CVE scanner's results (`cve-scans.ts`), which it forgets itself once no
 * repository holds the digest; user preferences (stars, bookmarks), which name a repository a user
 * chose and outlive it as zot's do; `ui_repo_summary`, which the UI drops when it compares stamps.
 */

/** Rows of one manifest in one repository, keyed by columns `repo` and `digest`. */
export const PER_MANIFEST_TABLES = [
  'gc_pulls', // retention's "last pulled"
  'search_manifest_downloads', // the search extension's download count and last pull
] as const;

/**
 * Rows keyed by digest alone: facts derived from a manifest's content, the same in every
 * repository, so they go when no repository indexes that manifest any more (a later push of the
 * same digest derives them again).
 */
export const PER_DIGEST_TABLES = [
  'ui_manifest_info', // the UI's platforms and image size
  'search_image_facts', // the search extension's image facts
] as const;

/** Rows of one repository, keyed by column `repo`. */
export const PER_REPOSITORY_TABLES = [
  'search_repo_downloads', // the search extension's download total
] as const;

/** A placeholder for the n-th (1-based) parameter: `?` for SQLite, `$n` for PostgreSQL. */
export type Placeholder = (n: number) => string;

/** DELETE statements, parameters (repo, digest): the manifest's own rows. */
export function deleteManifestRows(p: Placeholder): string[] {
  return PER_MANIFEST_TABLES.map((t) => `DELETE FROM ${t} WHERE repo = ${p(1)} AND digest = ${p(2)}`);
}

/**
 * DELETE statements, parameter (digest): its content-derived rows, unless a repository still
 * indexes it. With `list` (PostgreSQL), the parameter is an array of digests.
 */
export function deleteDigestRows(p: Placeholder, list = false): string[] {
  const match = list ? `= ANY(${p(1)}::text[])` : `= ${p(1)}`;
  return PER_DIGEST_TABLES.map(
    (t) =>
      `DELETE FROM ${t} WHERE digest ${match} AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = ${t}.digest)`,
  );
}

/** DELETE statements, parameter (repo): every manifest's rows of the repository, and the repository's own. */
export function deleteRepositoryRows(p: Placeholder): string[] {
  return [...PER_MANIFEST_TABLES, ...PER_REPOSITORY_TABLES].map(
    (t) => `DELETE FROM ${t} WHERE repo = ${p(1)}`,
  );
}

/**
 * DELETE statements, parameter (repo): rows of the repository's manifests the index no longer
 * holds (after a reconciliation replaced the repository's records: the manifests that stayed keep
 * their pull times and counts).
 */
export function deleteRepositoryOrphanRows(p: Placeholder): string[] {
  return PER_MANIFEST_TABLES.map(
    (t) =>
      `DELETE FROM ${t} WHERE repo = ${p(1)} AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repo = ${t}.repo AND m.digest = ${t}.digest)`,
  );
}

/** DELETE statements without parameters: rows whose manifest or repository the index no longer holds. */
export function deleteOrphanRows(): string[] {
  return [
    ...PER_MANIFEST_TABLES.map(
      (t) =>
        `DELETE FROM ${t} WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repo = ${t}.repo AND m.digest = ${t}.digest)`,
    ),
    ...PER_DIGEST_TABLES.map(
      (t) => `DELETE FROM ${t} WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = ${t}.digest)`,
    ),
    ...PER_REPOSITORY_TABLES.map(
      (t) => `DELETE FROM ${t} WHERE NOT EXISTS (SELECT 1 FROM repositories r WHERE r.name = ${t}.repo)`,
    ),
  ];
}

/** The index that makes "does any repository still index this digest" one lookup. */
export const MANIFESTS_BY_DIGEST = 'CREATE INDEX manifests_digest ON manifests (digest);';
