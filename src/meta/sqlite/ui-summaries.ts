/**
 * The UiSummaries port on SQLite: read queries behind the web UI, on the metadata database, plus two tables the UI owns:
 *
 * - `ui_repo_summary`: one row per repository with what the repository list shows and sorts by
 *   (last update, size, newest tag). Computing these for 10,000 repositories on every request would
 *   scan every tag and blob row, so they are kept up to date instead:
 *   - registry events mark the repository they touch (`invalidate`), and the next request recomputes
 *     just those (`ensureFresh`): a push shows at once;
 *   - every row remembers its repository's `index_stamp` (which changes on every index.json write,
 *     reconciliation included); a full comparison of all stamps runs at start-up, whenever another
 *     connection or process wrote to the database (SQLite's `data_version`), and every
 *     {@link FULL_CHECK_MS} (the extension's timer): changes that raised no event show within that time.
 * - `ui_manifest_info`: facts derived from a manifest's content (platforms, total image size), keyed
 *   by digest alone: equal digests have equal content, so the facts hold in every repository.
 *
 * Nothing here decides who may see what: callers filter names through the access guard.
 */
import type Database from 'better-sqlite3';
import { migrateModule, type Db } from '../database.js';
import {
  FULL_CHECK_MS,
  tagLikePattern,
  type ManifestInfo,
  type Platform,
  type QueryOptions,
  type RepoSort,
  type RepoSummary,
  type SortDirection,
  type TagMatch,
  type TagRow,
  type TagSort,
  type TagWindow,
  type UiSummaries,
} from '../ui-summaries.js';

export const UI_MIGRATIONS = [
  `CREATE TABLE ui_repo_summary (
     name TEXT PRIMARY KEY,
     stamp TEXT NOT NULL,
     manifest_count INTEGER NOT NULL,
     tag_count INTEGER NOT NULL,
     size INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     newest_tag TEXT,
     newest_digest TEXT
   ) WITHOUT ROWID;
   CREATE INDEX ui_repo_summary_updated ON ui_repo_summary (updated_at, name);
   CREATE INDEX ui_repo_summary_size ON ui_repo_summary (size, name);
   CREATE TABLE ui_manifest_info (
     digest TEXT PRIMARY KEY,
     image_size INTEGER NOT NULL,
     platforms TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // A repository's size is a sum over its blob rows; the metadata index's own (repo) index makes
  // that one random read per blob. Covering (repo, size) turns it into a short sequential scan:
  // 10,000 summaries after a mass import took 23 s without it.
  `CREATE INDEX IF NOT EXISTS ui_blobs_repo_size ON blobs (repo, size);`,
  // Listing orders come straight out of covering indexes of listed repositories only.
  `DROP INDEX ui_repo_summary_updated;
   DROP INDEX ui_repo_summary_size;
   CREATE INDEX ui_repo_summary_listed ON ui_repo_summary (name) WHERE manifest_count > 0;
   CREATE INDEX ui_repo_summary_updated ON ui_repo_summary (updated_at DESC, name) WHERE manifest_count > 0;
   CREATE INDEX ui_repo_summary_size ON ui_repo_summary (size DESC, name) WHERE manifest_count > 0;`,
  // The registry index keeps the covering index of blobs by repository now (blobs_by_repo).
  `DROP INDEX IF EXISTS ui_blobs_repo_size;`,
];

/** Above this many stale summaries, all are recomputed with a few table scans instead of one by one. */
const BULK_REFRESH_FROM = 200;

interface SummaryRow {
  name: string;
  tag_count: number;
  size: number;
  updated_at: number;
  newest_tag: string | null;
  newest_digest: string | null;
}

const SUMMARY_ORDER: Record<RepoSort, Record<SortDirection, string>> = {
  name: { asc: 'name ASC', desc: 'name DESC' },
  updated: { asc: 'updated_at ASC, name ASC', desc: 'updated_at DESC, name ASC' },
  size: { asc: 'size ASC, name ASC', desc: 'size DESC, name ASC' },
};

const TAG_ORDER: Record<TagSort, string> = {
  pushed: 't.pushed_at DESC, t.tag ASC',
  name: 't.tag ASC',
};

export class SqliteUiSummaries implements UiSummaries {
  private readonly s;
  private readonly namesBy = new Map<string, () => string[]>();
  /** The last ordered name lists, valid while `generation` has not moved. */
  private readonly namesCache = new Map<string, { generation: number; names: string[] }>();
  /** Moves whenever a summary changes: caches built on summaries compare it. */
  private generationCounter = 0;
  private readonly tagsBy = new Map<
    string,
    (repo: string, pattern: string, limit: number, offset: number) => TagRow[]
  >();
  private tagMatchCount: Database.Statement | undefined;
  /** Repositories a registry event touched since their summary was computed. */
  private readonly dirty = new Set<string>();
  private lastFullCheck = -Infinity;
  private dataVersion = -1;

  private readonly now: () => number;
  private readonly bulkFrom: number;

  constructor(
    private readonly db: Db,
    options: QueryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.bulkFrom = options.bulkRefreshFrom ?? BULK_REFRESH_FROM;
    migrateModule(db, 'ui', UI_MIGRATIONS);
    this.s = {
      stale: db
        .prepare(
          `SELECT r.name FROM repositories r LEFT JOIN ui_repo_summary s ON s.name = r.name
           WHERE s.stamp IS NULL OR s.stamp <> r.index_stamp`,
        )
        .pluck(),
      orphans: db
        .prepare(
          'SELECT s.name FROM ui_repo_summary s WHERE NOT EXISTS (SELECT 1 FROM repositories r WHERE r.name = s.name)',
        )
        .pluck(),
      refresh: db.prepare(
        `INSERT INTO ui_repo_summary (name, stamp, manifest_count, tag_count, size, updated_at, newest_tag, newest_digest)
         SELECT r.name, r.index_stamp,
           (SELECT COUNT(*) FROM manifests WHERE repo = r.name),
           (SELECT COUNT(*) FROM tags WHERE repo = r.name),
           (SELECT COALESCE(SUM(size), 0) FROM blobs WHERE repo = r.name),
           MAX(COALESCE((SELECT MAX(pushed_at) FROM manifests WHERE repo = r.name), 0),
               COALESCE((SELECT MAX(pushed_at) FROM tags WHERE repo = r.name), 0)),
           n.tag, n.digest
         FROM repositories r
         LEFT JOIN (SELECT tag, digest FROM tags WHERE repo = @name ORDER BY pushed_at DESC, tag DESC LIMIT 1) n
         WHERE r.name = @name
         ON CONFLICT (name) DO UPDATE SET
           stamp = excluded.stamp, manifest_count = excluded.manifest_count, tag_count = excluded.tag_count,
           size = excluded.size, updated_at = excluded.updated_at, newest_tag = excluded.newest_tag,
           newest_digest = excluded.newest_digest`,
      ),
      bulk: db.prepare(
        `INSERT INTO ui_repo_summary (name, stamp, manifest_count, tag_count, size, updated_at, newest_tag, newest_digest)
         SELECT r.name, r.index_stamp, COALESCE(m.n, 0), COALESCE(t.n, 0), COALESCE(b.size, 0),
           MAX(COALESCE(m.latest, 0), COALESCE(CAST(substr(t.newest, 1, 20) AS INTEGER), 0)),
           substr(t.newest, 21), t.digest
         FROM repositories r
         LEFT JOIN (SELECT repo, COUNT(*) AS n, MAX(pushed_at) AS latest FROM manifests GROUP BY repo) m ON m.repo = r.name
         -- The newest tag as 'pushed_at (20 digits)' || tag, so that ties go to the greatest tag as in
         -- the one-by-one refresh; SQLite takes the bare digest from the row holding that maximum.
         LEFT JOIN (SELECT repo, COUNT(*) AS n, MAX(printf('%020d', pushed_at) || tag) AS newest, digest FROM tags GROUP BY repo) t
           ON t.repo = r.name
         LEFT JOIN (SELECT repo, SUM(size) AS size FROM blobs GROUP BY repo) b ON b.repo = r.name
         WHERE true
         ON CONFLICT (name) DO UPDATE SET
           stamp = excluded.stamp, manifest_count = excluded.manifest_count, tag_count = excluded.tag_count,
           size = excluded.size, updated_at = excluded.updated_at, newest_tag = excluded.newest_tag,
           newest_digest = excluded.newest_digest`,
      ),
      forget: db.prepare('DELETE FROM ui_repo_summary WHERE name = ?'),
      exists: db.prepare('SELECT 1 FROM repositories WHERE name = ?').pluck(),
      summary: db.prepare(
        'SELECT name, tag_count, size, updated_at, newest_tag, newest_digest FROM ui_repo_summary WHERE name = ? AND manifest_count > 0',
      ),
      tagCount: db.prepare('SELECT COUNT(*) FROM tags WHERE repo = ?').pluck(),
      info: db.prepare('SELECT image_size, platforms FROM ui_manifest_info WHERE digest = ?'),
      putInfo: db.prepare(
        'INSERT INTO ui_manifest_info (digest, image_size, platforms) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING',
      ),
    };
  }

  /** Repositories whose summary is missing or older than their index.json. */
  async staleRepositories(): Promise<string[]> {
    return this.s.stale.all() as string[];
  }

  /**
   * Compares every summary with its repository's stamp: recomputes the stale ones (at most `limit`,
   * when given) and drops those of deleted repositories. Returns how many stale summaries remain.
   */
  async refreshSummaries(limit = Infinity): Promise<number> {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    const stale = await this.staleRepositories();
    const bulk = stale.length >= this.bulkFrom && limit >= stale.length;
    const now = bulk ? stale : stale.slice(0, limit);
    this.db.transaction(() => {
      if (bulk) this.s.bulk.run();
      else for (const name of now) this.s.refresh.run({ name });
      const orphans = this.s.orphans.all() as string[];
      for (const name of orphans) this.s.forget.run(name);
      if (now.length > 0 || orphans.length > 0) this.generationCounter++;
    })();
    if (now.length === stale.length) {
      this.dirty.clear();
      this.lastFullCheck = this.now();
      this.dataVersion = version;
    }
    return stale.length - now.length;
  }

  /**
   * Makes the summaries current enough to answer a request: the repositories events touched are
   * recomputed; everything is compared when another process wrote or the last full check is old.
   */
  async ensureFresh(): Promise<void> {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    // The extension's timer runs the full check every FULL_CHECK_MS, off the request path; a request
    // runs it only when the timer is overdue (a blocked event loop) or another process wrote.
    if (version !== this.dataVersion || this.now() - this.lastFullCheck >= 2 * FULL_CHECK_MS) {
      await this.refreshSummaries();
      return;
    }
    if (this.dirty.size === 0) return;
    const names = [...this.dirty];
    this.dirty.clear();
    this.db.transaction(() => {
      for (const name of names) this.refreshOne(name);
    })();
    this.generationCounter++;
  }

  /** Changes whenever any summary changed; lets callers cache what they derive from summaries. */
  get generation(): number {
    return this.generationCounter;
  }

  private refreshOne(name: string): void {
    if (this.s.exists.get(name) === undefined) this.s.forget.run(name);
    else this.s.refresh.run({ name });
  }

  /** Marks a repository's summary out of date (a registry event touched it). */
  invalidate(repo: string): void {
    this.dirty.add(repo);
  }

  /**
   * Names of the repositories that hold at least one manifest, whose name contains `filter`
   * (case-insensitively), in the requested order. Summaries must be fresh (`ensureFresh`). The
   * ordered lists are kept in memory until a summary changes.
   */
  async repositoryNames(filter: string, sort: RepoSort, direction: SortDirection): Promise<string[]> {
    const names = await this.orderedNames(sort, direction);
    const needle = filter.trim().toLowerCase();
    return needle === '' ? names : names.filter((name) => name.toLowerCase().includes(needle));
  }

  /** Every listed name in one order; the same array until a summary changes (callers must not modify it). */
  async orderedNames(sort: RepoSort, direction: SortDirection): Promise<string[]> {
    const key = `${sort}:${direction}`;
    const cached = this.namesCache.get(key);
    if (cached?.generation === this.generationCounter) return cached.names;
    let query = this.namesBy.get(key);
    if (!query) {
      const statement = this.db
        .prepare(
          `SELECT name FROM ui_repo_summary WHERE manifest_count > 0 ORDER BY ${SUMMARY_ORDER[sort][direction]}`,
        )
        .pluck();
      query = () => statement.all() as string[];
      this.namesBy.set(key, query);
    }
    const names = query();
    this.namesCache.set(key, { generation: this.generationCounter, names });
    return names;
  }

  /** A repository's summary, when it holds at least one manifest. */
  async summary(name: string): Promise<RepoSummary | undefined> {
    const row = this.s.summary.get(name) as SummaryRow | undefined;
    return row && toSummary(row);
  }

  /**
   * Tags of a repository with their manifests' facts, whose name contains `filter`; with
   * `window`, only those rows (SQLite keeps the top rows while sorting, so a page of a repository
   * with 100,000 tags neither sorts nor builds them all).
   */
  async tags(
    repo: string,
    filter: string,
    sort: TagSort,
    window?: TagWindow,
    match: TagMatch = 'contains',
  ): Promise<TagRow[]> {
    let query = this.tagsBy.get(sort);
    if (!query) {
      const statement = this.db.prepare(
        `SELECT t.tag, t.digest, t.pushed_at AS pushedAt, m.media_type AS mediaType,
                m.artifact_type AS artifactType, m.size AS manifestSize
         FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
         WHERE t.repo = ? AND lower(t.tag) LIKE ? ESCAPE '\\'
         ORDER BY ${TAG_ORDER[sort]} LIMIT ? OFFSET ?`,
      );
      query = (r, pattern, limit, offset) => statement.all(r, pattern, limit, offset) as TagRow[];
      this.tagsBy.set(sort, query);
    }
    // A negative LIMIT is no limit.
    return query(repo, tagLikePattern(filter, match), window?.limit ?? -1, window?.offset ?? 0);
  }

  /** How many rows `tags` gives without a window. */
  async tagMatches(repo: string, filter: string, match: TagMatch = 'contains'): Promise<number> {
    this.tagMatchCount ??= this.db
      .prepare(
        `SELECT COUNT(*) FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
         WHERE t.repo = ? AND lower(t.tag) LIKE ? ESCAPE '\\'`,
      )
      .pluck();
    return this.tagMatchCount.get(repo, tagLikePattern(filter, match)) as number;
  }

  async tagCount(repo: string): Promise<number> {
    return this.s.tagCount.get(repo) as number;
  }

  async manifestInfo(digest: string): Promise<ManifestInfo | undefined> {
    const row = this.s.info.get(digest) as { image_size: number; platforms: string } | undefined;
    return row && { imageSize: row.image_size, platforms: JSON.parse(row.platforms) as Platform[] };
  }

  async saveManifestInfo(digest: string, info: ManifestInfo): Promise<void> {
    this.s.putInfo.run(digest, info.imageSize, JSON.stringify(info.platforms));
  }
}

function toSummary(row: SummaryRow): RepoSummary {
  return {
    name: row.name,
    tagCount: row.tag_count,
    size: row.size,
    updatedAt: row.updated_at,
    newestTag: row.newest_tag,
    newestDigest: row.newest_digest,
  };
}
