/**
 * The RegistryIndex port on SQLite (synchronous better-sqlite3 inside, Promises outside). The registry's hot metadata, indexed in SQLite: which repositories exist, their manifests, tags,
 * referrers and blob references. Written only by the registry services, right after the OCI layout
 * (the truth) changed; rebuilt from the layouts by `registry/reconcile.ts`.
 */
import type Database from 'better-sqlite3';
import { migrateModule, type Db } from '../database.js';
import { writeBatchOf, type WriteBatch } from './write-batch.js';
import type { ManifestRecord, RegistryIndex, RepositorySnapshot, TagRecord } from '../registry-index.js';
import { ReadCache } from './read-cache.js';
import {
  MANIFESTS_BY_DIGEST,
  deleteDigestRows,
  deleteManifestRows,
  deleteOrphanRows,
  deleteRepositoryOrphanRows,
  deleteRepositoryRows,
} from '../manifest-dependents.js';

interface ManifestRow {
  repo: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  pushed_at: number;
}

function toRecord(row: ManifestRow, references: string[] = []): ManifestRecord {
  return {
    repo: row.repo,
    digest: row.digest,
    mediaType: row.media_type,
    size: row.size,
    artifactType: row.artifact_type,
    subject: row.subject,
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    pushedAt: row.pushed_at,
    references,
  };
}

/** A record shared by cached answers: its nested values must not change under other callers. */
function frozen(record: ManifestRecord): Readonly<ManifestRecord> {
  Object.freeze(record.references);
  if (record.annotations) Object.freeze(record.annotations);
  return Object.freeze(record);
}

export const REGISTRY_INDEX_MIGRATIONS = [
  `CREATE TABLE manifest_refs (
     repo TEXT NOT NULL,
     manifest TEXT NOT NULL,
     ref TEXT NOT NULL,
     PRIMARY KEY (repo, manifest, ref)
   ) WITHOUT ROWID;
   CREATE INDEX manifest_refs_ref ON manifest_refs (repo, ref);`,
  MANIFESTS_BY_DIGEST,
  // One index of blobs by repository, not two: every blob pushed paid for (repo) and for the UI's
  // covering (repo, size) (issue 14). This one serves both: a repository's blobs in digest order
  // and its size, each from the index alone. The UI's copy is dropped by its next migration.
  `CREATE INDEX blobs_by_repo ON blobs (repo, digest, size);
   DROP INDEX IF EXISTS ui_blobs_repo_size;
   DROP INDEX IF EXISTS blobs_repo;`,
];

type Statement = Database.Statement<unknown[]>;

/** The statements of `manifest-dependents.ts` on this handle. */
interface Dependents {
  ofManifest: Statement[];
  ofDigest: Statement[];
  ofRepository: Statement[];
  orphansOfRepository: Statement[];
  orphans: Statement[];
}

export class SqliteRegistryIndex implements RegistryIndex {
  private readonly s;
  /** Catalog pages and tag resolutions, kept while the database has not changed (`read-cache.ts`). */
  private readonly reads;
  /** The push path's writes share commits (write-batch.ts). */
  private readonly batch: WriteBatch;
  private readonly catalogPages;
  private readonly tagRecords;
  /** Prepared on first use: the dependent tables belong to modules migrated after this one. */
  private dependentStatements: Dependents | undefined;

  constructor(private readonly db: Db) {
    migrateModule(db, 'registry-index', REGISTRY_INDEX_MIGRATIONS);
    this.reads = new ReadCache(db);
    this.batch = writeBatchOf(db);
    this.catalogPages = this.reads.map<readonly string[]>();
    this.tagRecords = this.reads.map<Readonly<ManifestRecord> | undefined>();
    this.s = {
      repoExists: db.prepare('SELECT 1 FROM repositories WHERE name = ?').pluck(),
      repoStamp: db.prepare('SELECT index_stamp FROM repositories WHERE name = ?').pluck(),
      allStamps: db.prepare('SELECT name, index_stamp AS stamp FROM repositories'),
      upsertRepo: db.prepare(
        'INSERT INTO repositories (name, index_stamp, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET index_stamp = excluded.index_stamp',
      ),
      catalog: db
        .prepare(
          'SELECT name FROM repositories r WHERE name > ? AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo = r.name) ORDER BY name LIMIT ?',
        )
        .pluck(),
      tag: db.prepare(
        'SELECT m.* FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest WHERE t.repo = ? AND t.tag = ?',
      ),
      tagsOf: db.prepare('SELECT tag, digest, pushed_at AS pushedAt FROM tags WHERE repo = ? ORDER BY tag'),
      tagsPage: db.prepare('SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?').pluck(),
      tagsForDigest: db.prepare('SELECT tag FROM tags WHERE repo = ? AND digest = ? ORDER BY tag').pluck(),
      manifest: db.prepare('SELECT * FROM manifests WHERE repo = ? AND digest = ?'),
      manifestsOf: db.prepare('SELECT * FROM manifests WHERE repo = ?'),
      referrers: db.prepare('SELECT * FROM manifests WHERE repo = ? AND subject = ? ORDER BY digest'),
      upsertManifest: db.prepare(
        `INSERT INTO manifests (repo, digest, media_type, size, artifact_type, subject, annotations, pushed_at)
         VALUES (@repo, @digest, @mediaType, @size, @artifactType, @subject, @annotations, @pushedAt)
         ON CONFLICT (repo, digest) DO NOTHING`,
      ),
      deleteManifest: db.prepare('DELETE FROM manifests WHERE repo = ? AND digest = ?'),
      insertRef: db.prepare('INSERT OR IGNORE INTO manifest_refs (repo, manifest, ref) VALUES (?, ?, ?)'),
      deleteRefs: db.prepare('DELETE FROM manifest_refs WHERE repo = ? AND manifest = ?'),
      refsOf: db.prepare('SELECT ref FROM manifest_refs WHERE repo = ? AND manifest = ?').pluck(),
      referencedBy: db.prepare('SELECT manifest FROM manifest_refs WHERE repo = ? AND ref = ?').pluck(),
      upsertTag: db.prepare(
        'INSERT INTO tags (repo, tag, digest, pushed_at) VALUES (?, ?, ?, ?) ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest, pushed_at = excluded.pushed_at',
      ),
      deleteTag: db.prepare('DELETE FROM tags WHERE repo = ? AND tag = ?'),
      deleteTagsOfDigest: db.prepare('DELETE FROM tags WHERE repo = ? AND digest = ?'),
      addBlob: db.prepare('INSERT OR IGNORE INTO blobs (digest, repo, size) VALUES (?, ?, ?)'),
      removeBlob: db.prepare('DELETE FROM blobs WHERE digest = ? AND repo = ?'),
      blobHolders: db.prepare('SELECT repo FROM blobs WHERE digest = ? ORDER BY repo').pluck(),
      // No repository is named '': without `except`, `repo <> ''` excludes none.
      blobHolder: db
        .prepare('SELECT repo FROM blobs WHERE digest = ? AND repo <> ? ORDER BY repo LIMIT 1')
        .pluck(),
      repositorySizes: db.prepare('SELECT repo, SUM(size) AS bytes FROM blobs GROUP BY repo'),
      blobSize: db.prepare('SELECT size FROM blobs WHERE digest = ? AND repo = ?').pluck(),
      repositoryBlobs: db.prepare('SELECT digest, size FROM blobs WHERE repo = ? ORDER BY digest'),
      deleteRepoManifests: db.prepare('DELETE FROM manifests WHERE repo = ?'),
      deleteRepoTags: db.prepare('DELETE FROM tags WHERE repo = ?'),
      deleteRepoRefs: db.prepare('DELETE FROM manifest_refs WHERE repo = ?'),
      deleteRepoBlobs: db.prepare('DELETE FROM blobs WHERE repo = ?'),
      deleteRepo: db.prepare('DELETE FROM repositories WHERE name = ?'),
      digestsOf: db.prepare('SELECT digest FROM manifests WHERE repo = ?').pluck(),
    };
  }

  private get dependents(): Dependents {
    // A handle on which only some modules were migrated (unit tests of one module) lacks the
    // others' tables, and so their rows: those statements are left out.
    const tables = new Set(
      this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[],
    );
    const prepare = (sql: string[]): Statement[] =>
      sql.filter((q) => tables.has(/^DELETE FROM (\w+)/.exec(q)![1]!)).map((q) => this.db.prepare(q));
    const sqlite = (): string => '?';
    return (this.dependentStatements ??= {
      ofManifest: prepare(deleteManifestRows(sqlite)),
      ofDigest: prepare(deleteDigestRows(sqlite)),
      ofRepository: prepare(deleteRepositoryRows(sqlite)),
      orphansOfRepository: prepare(deleteRepositoryOrphanRows(sqlite)),
      orphans: prepare(deleteOrphanRows()),
    });
  }

  /** Deletes the content-derived rows of digests no repository indexes any more. */
  private forgetDigests(digests: Iterable<string>): void {
    for (const digest of digests) for (const s of this.dependents.ofDigest) s.run(digest);
  }

  async repositoryExists(repo: string): Promise<boolean> {
    return this.s.repoExists.get(repo) !== undefined;
  }

  async stamp(repo: string): Promise<string | undefined> {
    return this.s.repoStamp.get(repo) as string | undefined;
  }

  async allStamps(): Promise<Map<string, string>> {
    const rows = this.s.allStamps.all() as { name: string; stamp: string }[];
    return new Map(rows.map((r) => [r.name, r.stamp]));
  }

  /** Repositories holding at least one manifest, in byte order, after `after`. */
  async catalog(after: string, limit: number): Promise<string[]> {
    const page = this.reads.get(this.catalogPages, `${limit} ${after}`, () =>
      Object.freeze(this.s.catalog.all(after, limit) as string[]),
    );
    return page.slice();
  }

  async resolveTag(repo: string, tag: string): Promise<ManifestRecord | undefined> {
    const record = this.reads.get(this.tagRecords, `${repo.length}:${repo}${tag}`, () => {
      const row = this.s.tag.get(repo, tag) as ManifestRow | undefined;
      return row && frozen(toRecord(row));
    });
    return record && { ...record };
  }

  async tags(repo: string): Promise<TagRecord[]> {
    return this.s.tagsOf.all(repo) as TagRecord[];
  }

  async tagsPage(repo: string, after: string, limit: number): Promise<string[]> {
    return this.s.tagsPage.all(repo, after, limit) as string[];
  }

  async tagsForDigest(repo: string, digest: string): Promise<string[]> {
    return this.s.tagsForDigest.all(repo, digest) as string[];
  }

  async manifest(repo: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = this.s.manifest.get(repo, digest) as ManifestRow | undefined;
    return row && toRecord(row, this.s.refsOf.all(repo, digest) as string[]);
  }

  async manifests(repo: string): Promise<ManifestRecord[]> {
    return (this.s.manifestsOf.all(repo) as ManifestRow[]).map((r) => toRecord(r));
  }

  async referrers(repo: string, subject: string): Promise<ManifestRecord[]> {
    return (this.s.referrers.all(repo, subject) as ManifestRow[]).map((r) => toRecord(r));
  }

  /** Manifests of `repo` that reference `digest` (as config, layer or child). */
  async referencedBy(repo: string, digest: string): Promise<string[]> {
    return this.s.referencedBy.all(repo, digest) as string[];
  }

  async blobHolders(digest: string): Promise<string[]> {
    return this.s.blobHolders.all(digest) as string[];
  }

  async blobHolder(digest: string, except = ''): Promise<string | undefined> {
    return this.s.blobHolder.get(digest, except) as string | undefined;
  }

  async blobSize(repo: string, digest: string): Promise<number | undefined> {
    return this.s.blobSize.get(digest, repo) as number | undefined;
  }

  async repositoryBlobs(repo: string): Promise<{ digest: string; size: number }[]> {
    return this.s.repositoryBlobs.all(repo) as { digest: string; size: number }[];
  }

  /** Bytes of the blobs each repository holds (a blob hard-linked into two repositories counts in both). */
  async repositorySizes(): Promise<{ repo: string; bytes: number }[]> {
    return this.s.repositorySizes.all() as { repo: string; bytes: number }[];
  }

  async addBlob(repo: string, digest: string, size: number): Promise<void> {
    await this.batch.run(() => this.s.addBlob.run(digest, repo, size));
  }

  async removeBlob(repo: string, digest: string): Promise<void> {
    this.s.removeBlob.run(digest, repo);
  }

  /** Records a manifest write: the manifest row, its references and the tags now pointing at it. */
  async recordManifest(record: ManifestRecord, tags: string[], stamp: string): Promise<void> {
    // Blob memberships and manifest rows are the push path's writes: group-committed (write-batch.ts).
    await this.batch.run(
      this.db.transaction(() => {
        this.s.upsertRepo.run(record.repo, stamp, Date.now());
        this.insertManifest(record);
        for (const tag of tags) this.s.upsertTag.run(record.repo, tag, record.digest, record.pushedAt);
      }),
    );
  }

  private insertManifest(record: ManifestRecord): void {
    this.s.upsertManifest.run({
      ...record,
      annotations: record.annotations ? JSON.stringify(record.annotations) : null,
    });
    for (const ref of record.references) this.s.insertRef.run(record.repo, record.digest, ref);
  }

  async removeTag(repo: string, tag: string, stamp: string): Promise<void> {
    this.db.transaction(() => {
      this.s.deleteTag.run(repo, tag);
      this.s.upsertRepo.run(repo, stamp, Date.now());
    })();
  }

  async removeManifest(repo: string, digest: string, stamp: string): Promise<void> {
    this.db.transaction(() => {
      this.s.deleteTagsOfDigest.run(repo, digest);
      this.s.deleteRefs.run(repo, digest);
      this.s.deleteManifest.run(repo, digest);
      this.s.removeBlob.run(digest, repo);
      this.s.upsertRepo.run(repo, stamp, Date.now());
      for (const s of this.dependents.ofManifest) s.run(repo, digest);
      this.forgetDigests([digest]);
    })();
  }

  async replaceRepositories(snapshots: readonly RepositorySnapshot[]): Promise<void> {
    this.db.transaction(() => {
      for (const { repo, stamp, manifests, tags, blobs } of snapshots) {
        const before = this.s.digestsOf.all(repo) as string[];
        this.clear(repo);
        this.s.upsertRepo.run(repo, stamp, Date.now());
        for (const m of manifests) this.insertManifest(m);
        for (const t of tags) this.s.upsertTag.run(repo, t.tag, t.digest, t.pushedAt);
        for (const b of blobs) this.s.addBlob.run(b.digest, repo, b.size);
        for (const s of this.dependents.orphansOfRepository) s.run(repo);
        this.forgetDigests(before);
      }
    })();
  }

  async deleteRepository(repo: string): Promise<void> {
    this.db.transaction(() => {
      const before = this.s.digestsOf.all(repo) as string[];
      this.clear(repo);
      this.s.deleteRepo.run(repo);
      for (const s of this.dependents.ofRepository) s.run(repo);
      this.forgetDigests(before);
    })();
  }

  async purgeOrphans(): Promise<number> {
    return this.db.transaction(() => this.dependents.orphans.reduce((sum, s) => sum + s.run().changes, 0))();
  }

  private clear(repo: string): void {
    this.s.deleteRepoManifests.run(repo);
    this.s.deleteRepoTags.run(repo);
    this.s.deleteRepoRefs.run(repo);
    this.s.deleteRepoBlobs.run(repo);
  }
}
