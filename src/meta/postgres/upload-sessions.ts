/**
 * Upload sessions on PostgreSQL: one row per session, every change a compare-and-swap on `version`
 * (`UPDATE … WHERE id = $1 AND version = $2`), so that any replica continues any session and two
 * replicas never both win a race (the losing PATCH answers 416). The serialised hash state is a
 * BYTEA column, the parts a JSON array. A finished session's row stays as a tombstone
 * (`finished_at` set) until purged.
 */
import { randomBytes } from 'node:crypto';
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
import type { Migrations, Pool } from './database.js';
import { sessionFromRow, sessionToRow, type UploadSessionRow } from '../upload-session-row.js';

export const UPLOAD_SESSION_MIGRATIONS: Migrations = {
  module: 'upload-sessions',
  steps: [
    `CREATE TABLE upload_sessions (
       id TEXT PRIMARY KEY,
       repository TEXT NOT NULL,
       algorithm TEXT NOT NULL,
       upload_offset BIGINT NOT NULL,
       parts TEXT NOT NULL,
       storage_path TEXT,
       storage_upload_id TEXT,
       hash_state BYTEA,
       hashed_bytes BIGINT NOT NULL,
       next_part INTEGER NOT NULL,
       writer_token TEXT,
       writer_until BIGINT,
       version BIGINT NOT NULL,
       created_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL
     );
     CREATE INDEX upload_sessions_updated ON upload_sessions (updated_at);`,
    // Sessions without a byte have no row (signed ids); finished ones keep a tombstone row.
    `ALTER TABLE upload_sessions ADD COLUMN finished_at BIGINT;
     CREATE TABLE upload_id_key (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       key BYTEA NOT NULL
     );`,
  ],
};

/** A row as PostgreSQL returns it (`upload_offset`: OFFSET is reserved there). */
type Row = Omit<UploadSessionRow, 'offset'> & { upload_offset: number };

function fromRow({ upload_offset, ...row }: Row): UploadSession {
  return sessionFromRow({ ...row, offset: upload_offset });
}

/** The mutable columns in the order of $2…$11 below. */
function mutable(s: UploadSession): unknown[] {
  const r = sessionToRow(s);
  return [
    r.offset,
    r.parts,
    r.storage_path,
    r.storage_upload_id,
    r.hash_state,
    r.hashed_bytes,
    r.next_part,
    r.writer_token,
    r.writer_until,
    r.version,
    r.updated_at,
  ];
}

export class PostgresUploadSessions implements UploadSessions {
  constructor(private readonly pool: Pool) {}

  async create(session: NewUploadSession): Promise<UploadSession | undefined> {
    const record = newUploadRecord(session, Date.now());
    const result = await this.pool.query(
      `INSERT INTO upload_sessions (id, upload_offset, parts, storage_path, storage_upload_id, hash_state, hashed_bytes,
         next_part, writer_token, writer_until, version, updated_at, repository, algorithm, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (id) DO NOTHING`,
      [record.id, ...mutable(record), record.repository, record.algorithm, record.createdAt],
    );
    return result.rowCount === 1 ? record : undefined;
  }

  async get(id: string): Promise<UploadSession | 'finished' | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM upload_sessions WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) return undefined;
    return row.finished_at === null ? fromRow(row) : 'finished';
  }

  async update(
    id: string,
    expectedVersion: number,
    change: UploadSessionChange,
  ): Promise<UploadSession | undefined> {
    const current = await this.get(id);
    if (typeof current !== 'object' || current.version !== expectedVersion) return undefined;
    const next = applyUploadChange(current, change, Date.now());
    // The version guard makes read-then-write a swap: another writer in between leaves 0 rows.
    const result = await this.pool.query(
      `UPDATE upload_sessions SET upload_offset = $2, parts = $3, storage_path = $4, storage_upload_id = $5,
         hash_state = $6, hashed_bytes = $7, next_part = $8, writer_token = $9, writer_until = $10, version = $11,
         updated_at = $12
       WHERE id = $1 AND version = $13 AND finished_at IS NULL`,
      [id, ...mutable(next), expectedVersion],
    );
    return result.rowCount === 1 ? next : undefined;
  }

  async finish(session: FinishedUpload, expectedVersion?: number): Promise<boolean> {
    const now = Date.now();
    const tombstone = `SET finished_at = $2, updated_at = $2, version = upload_sessions.version + 1, parts = '[]',
         storage_path = NULL, storage_upload_id = NULL, hash_state = NULL, writer_token = NULL, writer_until = NULL`;
    const insert = `INSERT INTO upload_sessions (id, repository, algorithm, upload_offset, parts, hashed_bytes,
         next_part, version, created_at, updated_at, finished_at)
       VALUES ($1, $3, $4, 0, '[]', 0, 1, 1, $5, $2, $2)`;
    const values = [session.id, now, session.repository, session.algorithm, session.createdAt];
    if (expectedVersion === 0) {
      return (await this.pool.query(`${insert} ON CONFLICT (id) DO NOTHING`, values)).rowCount === 1;
    }
    if (expectedVersion !== undefined) {
      const result = await this.pool.query(
        `UPDATE upload_sessions ${tombstone} WHERE id = $1 AND version = $3 AND finished_at IS NULL`,
        [session.id, now, expectedVersion],
      );
      return result.rowCount === 1;
    }
    // One statement whatever the state: a tombstone for an id never recorded, or a live row ended.
    const result = await this.pool.query(
      `${insert} ON CONFLICT (id) DO UPDATE ${tombstone} WHERE upload_sessions.finished_at IS NULL`,
      values,
    );
    return result.rowCount === 1;
  }

  async idle(before: number, limit: number): Promise<UploadSession[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM upload_sessions WHERE updated_at < $1 AND finished_at IS NULL
       ORDER BY updated_at, created_at LIMIT $2`,
      [before, limit],
    );
    return rows.map(fromRow);
  }

  async purgeFinished(before: number, limit: number): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM upload_sessions WHERE id IN (SELECT id FROM upload_sessions
         WHERE updated_at < $1 AND finished_at IS NOT NULL ORDER BY updated_at LIMIT $2)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }

  async idKey(): Promise<Uint8Array> {
    await this.pool.query('INSERT INTO upload_id_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [
      randomBytes(UPLOAD_ID_KEY_BYTES),
    ]);
    const { rows } = await this.pool.query<{ key: Buffer }>('SELECT key FROM upload_id_key WHERE id = 1');
    return new Uint8Array(rows[0]!.key);
  }
}
