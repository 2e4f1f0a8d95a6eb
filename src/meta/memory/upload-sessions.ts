/**
 * Upload sessions in one process's memory: for tests and single-process tools only (a second
 * process cannot see them). Same compare-and-swap and tombstone semantics as the shared stores.
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

function copy(s: UploadSession): UploadSession {
  return structuredClone(s);
}

export class MemoryUploadSessions implements UploadSessions {
  private readonly sessions = new Map<string, UploadSession>();
  /** Tombstones: finish time by id. */
  private readonly finished = new Map<string, number>();
  private readonly key = new Uint8Array(randomBytes(UPLOAD_ID_KEY_BYTES));

  async create(session: NewUploadSession): Promise<UploadSession | undefined> {
    if (this.sessions.has(session.id) || this.finished.has(session.id)) return undefined;
    const record = newUploadRecord(session, Date.now());
    this.sessions.set(session.id, record);
    return copy(record);
  }

  async get(id: string): Promise<UploadSession | 'finished' | undefined> {
    if (this.finished.has(id)) return 'finished';
    const s = this.sessions.get(id);
    return s ? copy(s) : undefined;
  }

  async update(
    id: string,
    expectedVersion: number,
    change: UploadSessionChange,
  ): Promise<UploadSession | undefined> {
    const s = this.sessions.get(id);
    if (!s || s.version !== expectedVersion) return undefined;
    const next = applyUploadChange(s, change, Date.now());
    this.sessions.set(id, next);
    return copy(next);
  }

  async finish(session: FinishedUpload, expectedVersion?: number): Promise<boolean> {
    if (this.finished.has(session.id)) return false;
    const s = this.sessions.get(session.id);
    const version = s?.version ?? 0;
    if (expectedVersion !== undefined && version !== expectedVersion) return false;
    this.sessions.delete(session.id);
    this.finished.set(session.id, Date.now());
    return true;
  }

  async idle(before: number, limit: number): Promise<UploadSession[]> {
    return [...this.sessions.values()]
      .filter((s) => s.updatedAt < before)
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .slice(0, limit)
      .map(copy);
  }

  async purgeFinished(before: number, limit: number): Promise<number> {
    let purged = 0;
    for (const [id, at] of this.finished) {
      if (purged >= limit) break;
      if (at < before) {
        this.finished.delete(id);
        purged++;
      }
    }
    return purged;
  }

  async idKey(): Promise<Uint8Array> {
    return this.key;
  }
}
