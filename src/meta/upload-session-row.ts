/**
 * An upload session as a table row, the same columns in every database: what both stores read
 * and write, converted in one place. (PostgreSQL names the offset column `upload_offset`: OFFSET is
 * a reserved word there.)
 */
import type { PartInfo } from '../storage/driver.js';
import type { UploadAlgorithm, UploadSession } from './upload-sessions.js';

export interface UploadSessionRow {
  id: string;
  repository: string;
  algorithm: string;
  offset: number;
  parts: string;
  storage_path: string | null;
  storage_upload_id: string | null;
  hash_state: Buffer | null;
  hashed_bytes: number;
  next_part: number;
  writer_token: string | null;
  writer_until: number | null;
  version: number;
  created_at: number;
  updated_at: number;
  /** When the session was finished (a tombstone), or null while it is live. */
  finished_at: number | null;
}

export function sessionFromRow(row: UploadSessionRow): UploadSession {
  const session: UploadSession = {
    id: row.id,
    repository: row.repository,
    algorithm: row.algorithm as UploadAlgorithm,
    offset: row.offset,
    parts: JSON.parse(row.parts) as PartInfo[],
    hashedBytes: row.hashed_bytes,
    nextPart: row.next_part,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.storage_path !== null && row.storage_upload_id !== null) {
    session.storage = { path: row.storage_path, uploadId: row.storage_upload_id };
  }
  if (row.hash_state !== null) session.hashState = new Uint8Array(row.hash_state);
  if (row.writer_token !== null && row.writer_until !== null) {
    session.writer = { token: row.writer_token, until: row.writer_until };
  }
  return session;
}

export function sessionToRow(s: UploadSession): UploadSessionRow {
  return {
    id: s.id,
    repository: s.repository,
    algorithm: s.algorithm,
    offset: s.offset,
    parts: JSON.stringify(s.parts),
    storage_path: s.storage?.path ?? null,
    storage_upload_id: s.storage?.uploadId ?? null,
    hash_state: s.hashState ? Buffer.from(s.hashState) : null,
    hashed_bytes: s.hashedBytes,
    next_part: s.nextPart,
    writer_token: s.writer?.token ?? null,
    writer_until: s.writer?.until ?? null,
    version: s.version,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    finished_at: null,
  };
}
