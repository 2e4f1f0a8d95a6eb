/**
 * Upload sessions in the SQLite metadata database: one row per session, every change a
 * compare-and-swap on `version` (`UPDATE … WHERE id = ? AND version = ?`), so that processes
 * sharing the database file continue each other's sessions and never both win a race.
 * The table is this module's own (migration below); nothing else reads it.
 */
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
];

export class SqliteUploadSessions implements UploadSessions {
  private readonly insertRow;
  private readonly selectRow;
  private readonly swapRow;
  private readonly deleteRow;
  private readonly deleteAtVersion;
  private readonly selectIdle;
  /** Session rows are written on every upload request: group-committed (write-batch.ts). */
  private readonly batch: WriteBatch;

  constructor(db: Db) {
    this.batch = writeBatchOf(db);
    migrateModule(db, 'upload-sessions', UPLOAD_SESSION_MIGRATIONS);
    this.insertRow = db.prepare(
      `INSERT INTO upload_sessions (id, repository, algorithm, offset, parts, storage_path, storage_upload_id, hash_state,
         hashed_bytes, next_part, writer_token, writer_until, version, created_at, updated_at)
       VALUES (@id, @repository, @algorithm, @offset, @parts, @storage_path, @storage_upload_id, @hash_state,
         @hashed_bytes, @next_part, @writer_token, @writer_until, @version, @created_at, @updated_at)`,
    );
    this.selectRow = db.prepare('SELECT * FROM upload_sessions WHERE id = ?');
    this.swapRow = db.prepare(
      `UPDATE upload_sessions SET offset = @offset, parts = @parts, storage_path = @storage_path,
         storage_upload_id = @storage_upload_id, hash_state = @hash_state, hashed_bytes = @hashed_bytes,
         next_part = @next_part, writer_token = @writer_token, writer_until = @writer_until, version = @version,
         updated_at = @updated_at
       WHERE id = @id AND version = @expected`,
    );
    this.deleteRow = db.prepare('DELETE FROM upload_sessions WHERE id = ?');
    this.deleteAtVersion = db.prepare('DELETE FROM upload_sessions WHERE id = ? AND version = ?');
    this.selectIdle = db.prepare(
      'SELECT * FROM upload_sessions WHERE updated_at < ? ORDER BY updated_at LIMIT ?',
    );
  }

  async create(session: NewUploadSession): Promise<UploadSession> {
    const now = Date.now();
    const record: UploadSession = {
      ...session,
      offset: 0,
      parts: [],
      hashedBytes: 0,
      nextPart: 1,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    const params = toParams(record);
    await this.batch.run(() => this.insertRow.run(params));
    return record;
  }

  async get(id: string): Promise<UploadSession | undefined> {
    const row = this.selectRow.get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  async update(
    id: string,
    expectedVersion: number,
    change: UploadSessionChange,
  ): Promise<UploadSession | undefined> {
    return this.batch.run(() => {
      const row = this.selectRow.get(id) as Row | undefined;
      if (!row || row.version !== expectedVersion) return undefined;
      const next = applyUploadChange(fromRow(row), change, Date.now());
      // The version guard makes read-then-write a swap: another writer in between leaves 0 changes.
      const result = this.swapRow.run({ ...toParams(next), expected: expectedVersion });
      return result.changes === 1 ? next : undefined;
    });
  }

  async delete(id: string, expectedVersion?: number): Promise<boolean> {
    const result = await this.batch.run(() =>
      expectedVersion === undefined ? this.deleteRow.run(id) : this.deleteAtVersion.run(id, expectedVersion),
    );
    return result.changes === 1;
  }

  async idle(before: number, limit: number): Promise<UploadSession[]> {
    return (this.selectIdle.all(before, limit) as Row[]).map(fromRow);
  }
}
