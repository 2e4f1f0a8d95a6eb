/**
 * The UiSummaries port on PostgreSQL: the same design as SQLite's (`sqlite/ui-summaries.ts`) on
 * tables every replica shares:
 * - `ui_repo_summary`: per repository, what the repository list shows and sorts by, remembering the
 *   repository's `index_stamp`; recomputed when a registry event in this process touched it
 *   (`invalidate`), and all compared with their stamps at start-up, every FULL_CHECK_MS, and
 *   whenever the store's change counter moved (another replica wrote: `changes.ts`);
 * - `ui_manifest_info`: facts derived from a manifest's content, keyed by digest.
 * Any replica may recompute a summary (the rows are upserts of a deterministic query), so each
 * replica's cached name lists are dropped whenever the change counter moved, whoever refreshed.
 */
import { FULL_CHECK_MS, tagLikePattern } from '../ui-summaries.js';
import type {
  ManifestInfo,
  Platform,
  QueryOptions,
  RepoSort,
  RepoSummary,
  SortDirection,
  TagMatch,
  TagRow,
  TagSort,
  TagWindow,
  UiSummaries,
} from '../ui-summaries.js';
import type { ChangeCounter } from './changes.js';
import { transaction, type Migrations, type Pool } from './database.js';

export const UI_MIGRATIONS: Migrations = {
  module: 'ui',
  steps: [
    `CREATE TABLE ui_repo_summary (
       name TEXT COLLATE "C" PRIMARY KEY,
       stamp TEXT NOT NULL,
       manifest_count BIGINT NOT NULL,
       tag_count BIGINT NOT NULL,
       size BIGINT NOT NULL,
       updated_at BIGINT NOT NULL,
       newest_tag TEXT,
       newest_digest TEXT
     );
     CREATE INDEX ui_repo_summary_listed ON ui_repo_summary (name) WHERE manifest_count > 0;
     CREATE INDEX ui_repo_summary_updated ON ui_repo_summary (updated_at DESC, name) WHERE manifest_count > 0;
     CREATE INDEX ui_repo_summary_size ON ui_repo_summary (size DESC, name) WHERE manifest_count > 0;
     CREATE TABLE ui_manifest_info (
       digest TEXT PRIMARY KEY,
       image_size BIGINT NOT NULL,
       platforms TEXT NOT NULL
     );`,
  ],
};

/** Summaries recomputed per statement (one round trip for many repositories). */
const REFRESH_BATCH = 500;

const SUMMARY_ORDER: Record<RepoSort, Record<SortDirection, string>> = {
  name: { asc: 'name ASC', desc: 'name DESC' },
  updated: { asc: 'updated_at ASC, name ASC', desc: 'updated_at DESC, name ASC' },
  size: { asc: 'size ASC, name ASC', desc: 'size DESC, name ASC' },
};

const TAG_ORDER: Record<TagSort, string> = {
  pushed: 't.pushed_at DESC, t.tag ASC',
  name: 't.tag ASC',
};

/** Recomputes the summaries of the named repositories (sorted: concurrent refreshes lock rows in one order). */
const REFRESH = `
  INSERT INTO ui_repo_summary (name, stamp, manifest_count, tag_count, size, updated_at, newest_tag, newest_digest)
  SELECT r.name, r.index_stamp,
    (SELECT COUNT(*) FROM manifests WHERE repo = r.name),
    (SELECT COUNT(*) FROM tags WHERE repo = r.name),
    (SELECT COALESCE(SUM(size), 0)::bigint FROM blobs WHERE repo = r.name),
    GREATEST(COALESCE((SELECT MAX(pushed_at) FROM manifests WHERE repo = r.name), 0),
             COALESCE((SELECT MAX(pushed_at) FROM tags WHERE repo = r.name), 0)),
    n.tag, n.digest
  FROM repositories r
  LEFT JOIN LATERAL (
    SELECT tag, digest FROM tags WHERE repo = r.name ORDER BY pushed_at DESC, tag DESC LIMIT 1
  ) n ON true
  WHERE r.name = ANY($1::text[])
  ORDER BY r.name
  ON CONFLICT (name) DO UPDATE SET
    stamp = excluded.stamp, manifest_count = excluded.manifest_count, tag_count = excluded.tag_count,
    size = excluded.size, updated_at = excluded.updated_at, newest_tag = excluded.newest_tag,
    newest_digest = excluded.newest_digest`;

interface SummaryRow {
  name: string;
  tag_count: number;
  size: number;
  updated_at: number;
  newest_tag: string | null;
  newest_digest: string | null;
}

export class PostgresUiSummaries implements UiSummaries {
  /** The last ordered name lists, valid while `generation` has not moved. */
  private readonly namesCache = new Map<string, { generation: number; names: string[] }>();
  private generationCounter = 0;
  /** Repositories a registry event in this process touched since their summary was computed. */
  private readonly dirty = new Set<string>();
  private lastFullCheck = -Infinity;
  /** The change counter at the last full check. */
  private seenChanges = -1;
  private readonly now: () => number;

  constructor(
    private readonly pool: Pool,
    private readonly changes: ChangeCounter,
    options: QueryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async staleRepositories(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT r.name FROM repositories r LEFT JOIN ui_repo_summary s ON s.name = r.name
       WHERE s.stamp IS NULL OR s.stamp <> r.index_stamp ORDER BY r.name`,
    );
    return rows.map((r) => r.name);
  }

  async refreshSummaries(limit = Infinity): Promise<number> {
    const changes = await this.changes.current();
    const stale = await this.staleRepositories();
    const now = stale.slice(0, limit);
    const dropped = await transaction(this.pool, async (db) => {
      for (let i = 0; i < now.length; i += REFRESH_BATCH) {
        await db.query(REFRESH, [now.slice(i, i + REFRESH_BATCH)]);
      }
      const orphans = await db.query(
        'DELETE FROM ui_repo_summary s WHERE NOT EXISTS (SELECT 1 FROM repositories r WHERE r.name = s.name)',
      );
      return orphans.rowCount ?? 0;
    });
    // Another replica may have refreshed rows this one had cached: a moved counter drops the caches too.
    if (now.length > 0 || dropped > 0 || changes !== this.seenChanges) this.generationCounter++;
    if (now.length === stale.length) {
      this.dirty.clear();
      this.lastFullCheck = this.now();
      this.seenChanges = changes;
    }
    return stale.length - now.length;
  }

  async ensureFresh(): Promise<void> {
    const changes = await this.changes.current();
    if (changes !== this.seenChanges || this.now() - this.lastFullCheck >= 2 * FULL_CHECK_MS) {
      await this.refreshSummaries();
      return;
    }
    if (this.dirty.size === 0) return;
    const names = [...this.dirty].sort();
    this.dirty.clear();
    await transaction(this.pool, async (db) => {
      await db.query(REFRESH, [names]);
      await db.query(
        `DELETE FROM ui_repo_summary s WHERE s.name = ANY($1::text[])
           AND NOT EXISTS (SELECT 1 FROM repositories r WHERE r.name = s.name)`,
        [names],
      );
    });
    this.generationCounter++;
  }

  get generation(): number {
    return this.generationCounter;
  }

  invalidate(repo: string): void {
    this.dirty.add(repo);
  }

  async repositoryNames(filter: string, sort: RepoSort, direction: SortDirection): Promise<string[]> {
    const names = await this.orderedNames(sort, direction);
    const needle = filter.trim().toLowerCase();
    return needle === '' ? names : names.filter((name) => name.toLowerCase().includes(needle));
  }

  async orderedNames(sort: RepoSort, direction: SortDirection): Promise<string[]> {
    const key = `${sort}:${direction}`;
    const cached = this.namesCache.get(key);
    if (cached?.generation === this.generationCounter) return cached.names;
    const generation = this.generationCounter;
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT name FROM ui_repo_summary WHERE manifest_count > 0 ORDER BY ${SUMMARY_ORDER[sort][direction]}`,
    );
    const names = rows.map((r) => r.name);
    this.namesCache.set(key, { generation, names });
    return names;
  }

  async summary(name: string): Promise<RepoSummary | undefined> {
    const { rows } = await this.pool.query<SummaryRow>(
      `SELECT name, tag_count, size, updated_at, newest_tag, newest_digest FROM ui_repo_summary
       WHERE name = $1 AND manifest_count > 0`,
      [name],
    );
    const row = rows[0];
    return (
      row && {
        name: row.name,
        tagCount: row.tag_count,
        size: row.size,
        updatedAt: row.updated_at,
        newestTag: row.newest_tag,
        newestDigest: row.newest_digest,
      }
    );
  }

  async tags(
    repo: string,
    filter: string,
    sort: TagSort,
    window?: TagWindow,
    match: TagMatch = 'contains',
  ): Promise<TagRow[]> {
    const { rows } = await this.pool.query<TagRow>(
      `SELECT t.tag, t.digest, t.pushed_at AS "pushedAt", m.media_type AS "mediaType",
              m.artifact_type AS "artifactType", m.size AS "manifestSize"
       FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
       WHERE t.repo = $1 AND lower(t.tag) LIKE $2 ESCAPE '\\'
       ORDER BY ${TAG_ORDER[sort]} LIMIT $3 OFFSET $4`,
      [repo, tagLikePattern(filter, match), window?.limit ?? null, window?.offset ?? 0],
    );
    return rows;
  }

  async tagMatches(repo: string, filter: string, match: TagMatch = 'contains'): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
       WHERE t.repo = $1 AND lower(t.tag) LIKE $2 ESCAPE '\\'`,
      [repo, tagLikePattern(filter, match)],
    );
    return rows[0]!.n;
  }

  async tagCount(repo: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM tags WHERE repo = $1', [
      repo,
    ]);
    return rows[0]!.n;
  }

  async manifestInfo(digest: string): Promise<ManifestInfo | undefined> {
    const { rows } = await this.pool.query<{ image_size: number; platforms: string }>(
      'SELECT image_size, platforms FROM ui_manifest_info WHERE digest = $1',
      [digest],
    );
    const row = rows[0];
    return row && { imageSize: row.image_size, platforms: JSON.parse(row.platforms) as Platform[] };
  }

  async saveManifestInfo(digest: string, info: ManifestInfo): Promise<void> {
    await this.pool.query(
      'INSERT INTO ui_manifest_info (digest, image_size, platforms) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING',
      [digest, info.imageSize, JSON.stringify(info.platforms)],
    );
  }
}
