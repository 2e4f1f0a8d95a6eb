/**
 * Upload sessions in the SQLite metadata database: one row per session, every change a
 * compare-and-swap on `version` (`UPDATE … WHERE id = ? AND version = ?`), so that processes
 * sharing the database file continue each other's sessions and never both win a race. A finished
 * session's row stays as a tombstone (`finished_at` set, bytes' bookkeeping cleared) until purged.
 * The tables are this module's own (migrations below); nothing else reads them.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../database.js';
import { migrateModule } from '../database.js';
import { writeBatchOf, type WriteBatch } from './write-batch.js';
import {
  sessionFromRow as fromRow,
  sessionToRow as toParams,
  type UploadSessionRow as Row,
} from '../upload-session-row.js';
import {
  applyUploadChange,
  newUploadRecord,
  UPLOAD_ID_KEY_BYTES,
  type FinishedUpload,
  type NewUploadSession,
  type UploadSession,
  type UploadSessionChange,
  type UploadSessions,
} from '../upload-sessions.js';

export const UPLOAD_SESSION_MIGRATIONS: string[] = [
  `
  CREATE TABLE upload_sessions (
    id TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    offset INTEGER NOT NULL,
    parts TEXT NOT NULL,
    storage_path TEXT,
    storage_upload_id TEXT,
    hash_state BLOB,
    hashed_bytes INTEGER NOT NULL,
    next_part INTEGER NOT NULL,
    writer_token TEXT,
    writer_until INTEGER,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX upload_sessions_updated ON upload_sessions (updated_at);
  `,
  // Sessions without a byte have no row (signed ids); finished ones keep a tombstone row.
  `
  ALTER TABLE upload_sessions ADD COLUMN finished_at INTEGER;
  CREATE TABLE upload_id_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
  );
  `,
];

export class SqliteUploadSessions implements UploadSessions {
  private readonly insertRow;
  private readonly selectRow;
  private readonly swapRow;
  private readonly finishAtVersion;
  private readonly insertTombstone;
  private readonly upsertTombstone;
  private readonly selectIdle;
  private readonly purgeRows;
  private readonly insertKey;
  private readonly selectKey;
  /** Session rows are written on every upload request: group-committed (write-batch.ts). */
  private readonly batch: WriteBatch;

  constructor(db: Db) {
    this.batch = writeBatchOf(db);
    migrateModule(db, 'upload-sessions', UPLOAD_SESSION_MIGRATIONS);
    this.insertRow = db.prepare(
      `INSERT INTO upload_sessions (id, repository, algorithm, offset, parts, storage_path, storage_upload_id, hash_state,
         hashed_bytes, next_part, writer_token, writer_until, version, created_at, updated_at, finished_at)
       VALUES (@id, @repository, @algorithm, @offset, @parts, @storage_path, @storage_upload_id, @hash_state,
         @hashed_bytes, @next_part, @writer_token, @writer_until, @version, @created_at, @updated_at, @finished_at)
       ON CONFLICT (id) DO NOTHING`,
    );
    this.selectRow = db.prepare('SELECT * FROM upload_sessions WHERE id = ?');
    this.swapRow = db.prepare(
      `UPDATE upload_sessions SET offset = @offset, parts = @parts, storage_path = @storage_path,
         storage_upload_id = @storage_upload_id, hash_state = @hash_state, hashed_bytes = @hashed_bytes,
         next_part = @next_part, writer_token = @writer_token, writer_until = @writer_until, version = @version,
         updated_at = @updated_at
       WHERE id = @id AND version = @expected AND finished_at IS NULL`,
    );
    const tombstone = `SET finished_at = @now, updated_at = @now, version = version + 1, parts = '[]',
         storage_path = NULL, storage_upload_id = NULL, hash_state = NULL, writer_token = NULL, writer_until = NULL`;
    this.finishAtVersion = db.prepare(
      `UPDATE upload_sessions ${tombstone} WHERE id = @id AND version = @expected AND finished_at IS NULL`,
    );
    const insertTombstone = `INSERT INTO upload_sessions (id, repository, algorithm, offset, parts, hashed_bytes,
         next_part, version, created_at, updated_at, finished_at)
       VALUES (@id, @repository, @algorithm, 0, '[]', 0, 1, 1, @created_at, @now, @now)`;
    this.insertTombstone = db.prepare(`${insertTombstone} ON CONFLICT (id) DO NOTHING`);
    // One statement whatever the state: a tombstone for an id never recorded, or a live row ended.
    this.upsertTombstone = db.prepare(
      `${insertTombstone} ON CONFLICT (id) DO UPDATE ${tombstone} WHERE finished_at IS NULL`,
    );
    this.selectIdle = db.prepare(
      'SELECT * FROM upload_sessions WHERE updated_at < ? AND finished_at IS NULL ORDER BY updated_at LIMIT ?',
    );
    this.purgeRows = db.prepare(
      `DELETE FROM upload_sessions WHERE id IN (SELECT id FROM upload_sessions
         WHERE updated_at < ? AND finished_at IS NOT NULL ORDER BY updated_at LIMIT ?)`,
    );
    this.insertKey = db.prepare(
      'INSERT INTO upload_id_key (id, key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.selectKey = db.prepare('SELECT key FROM upload_id_key WHERE id = 1').pluck();
  }

  async create(session: NewUploadSession): Promise<UploadSession | undefined> {
    const record = newUploadRecord(session, Date.now());
    const params = toParams(record);
    const result = await this.batch.run(() => this.insertRow.run(params));
    return result.changes === 1 ? record : undefined;
  }

  async get(id: string): Promise<UploadSession | 'finished' | undefined> {
    const row = this.selectRow.get(id) as Row | undefined;
    if (!row) return undefined;
    return row.finished_at === null ? fromRow(row) : 'finished';
  }

  async update(
    id: string,
    expectedVersion: number,
    change: UploadSessionChange,
  ): Promise<UploadSession | undefined> {
    return this.batch.run(() => {
      const row = this.selectRow.get(id) as Row | undefined;
      if (!row || row.version !== expectedVersion || row.finished_at !== null) return undefined;
      const next = applyUploadChange(fromRow(row), change, Date.now());
      // The version guard makes read-then-write a swap: another writer in between leaves 0 changes.
      const result = this.swapRow.run({ ...toParams(next), expected: expectedVersion });
      return result.changes === 1 ? next : undefined;
    });
  }

  async finish(session: FinishedUpload, expectedVersion?: number): Promise<boolean> {
    const now = Date.now();
    const result = await this.batch.run(() => {
      if (expectedVersion === 0) {
        return this.insertTombstone.run({ ...tombstoneOf(session), now });
      }
      if (expectedVersion !== undefined) {
        return this.finishAtVersion.run({ id: session.id, expected: expectedVersion, now });
      }
      return this.upsertTombstone.run({ ...tombstoneOf(session), now });
    });
    return result.changes === 1;
  }

  async idle(before: number, limit: number): Promise<UploadSession[]> {
    return (this.selectIdle.all(before, limit) as Row[]).map(fromRow);
  }

  async purgeFinished(before: number, limit: number): Promise<number> {
    return this.purgeRows.run(before, limit).changes;
  }

  async idKey(): Promise<Uint8Array> {
    this.insertKey.run(randomBytes(UPLOAD_ID_KEY_BYTES));
    return new Uint8Array(this.selectKey.get() as Buffer);
  }
}

function tombstoneOf(session: FinishedUpload): Record<string, unknown> {
  return {
    id: session.id,
    repository: session.repository,
    algorithm: session.algorithm,
    created_at: session.createdAt,
  };
}
