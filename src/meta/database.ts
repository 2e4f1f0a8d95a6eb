/**
 * The embedded metadata database (SQLite through better-sqlite3): an index of the OCI layouts for
 * fast reads (tags, manifests, referrers, catalog, blob locations), plus Berth's own records
 * (API keys, sessions, users). The OCI layouts on disk stay the truth for content; `reconcile`
 * rebuilds the index from them when it is missing or stale.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export type Db = Database.Database;

/** Each entry upgrades the schema by one version; never edit a released entry, append a new one. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    index_stamp TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
  );
  CREATE TABLE manifests (
    repo TEXT NOT NULL,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    artifact_type TEXT,
    subject TEXT,
    annotations TEXT,
    pushed_at INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)
  ) WITHOUT ROWID;
  CREATE INDEX manifests_subject ON manifests (repo, subject) WHERE subject IS NOT NULL;
  CREATE TABLE tags (
    repo TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    pushed_at INTEGER NOT NULL,
    PRIMARY KEY (repo, tag)
  ) WITHOUT ROWID;
  CREATE INDEX tags_digest ON tags (repo, digest);
  CREATE TABLE blobs (
    digest TEXT NOT NULL,
    repo TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (digest, repo)
  ) WITHOUT ROWID;
  CREATE INDEX blobs_repo ON blobs (repo);
  `,
];

/** Bytes the WAL file is cut back to after a checkpoint (`journal_size_limit`). */
export const WAL_SIZE_LIMIT = 4 * 1024 * 1024;

export function openDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  // First: every later statement (the switch to WAL, migrations) may meet another process's lock.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode never corrupts the database; at worst a power cut loses the last commits,
  // which `reconcile` recovers from the OCI layouts.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // SQLite checkpoints the WAL every 1000 pages (4 MiB), but one transaction larger than that (a
  // purge of thousands of rows, a reconciliation) grows the file, which then never shrinks: the
  // soak's grew 4 → 9 MiB. Truncated back to this size once a checkpoint lets the log restart.
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  // SQLite's default page cache (2 MiB), not a larger one: every write transaction ends by
  // scanning the cache's hash table (pcache1Truncate), so a 64 MiB cache over a 54 MB database
  // doubled the cost of a commit (38 → 74 µs CPU, issue 14). Reads of the hot metadata come from
  // the read caches above this handle, and a page missing here is one pread from the OS cache.
  db.pragma('cache_size = -2000');
  migrate(db);
  return db;
}

/**
 * Migrations run in IMMEDIATE transactions that read the version inside them: two processes
 * starting at once on an empty directory serialise, and the second finds the work done.
 */
function migrate(db: Db): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/** Lets later modules (auth, sync, gc) add their own tables with their own migration lists. */
export function migrateModule(db: Db, module: string, migrations: string[]): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS module_versions (module TEXT PRIMARY KEY, version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM module_versions WHERE module = ?').get(module) as
      { version: number } | undefined;
    for (let v = row?.version ?? 0; v < migrations.length; v++) {
      db.exec(migrations[v]!);
      db.prepare(
        'INSERT INTO module_versions (module, version) VALUES (?, ?) ON CONFLICT (module) DO UPDATE SET version = excluded.version',
      ).run(module, v + 1);
    }
  }).immediate();
}
