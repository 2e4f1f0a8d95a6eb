/**
 * Upload sessions in one process's memory: for tests and single-process tools only (a second
 * process cannot see them). Same compare-and-swap semantics as the shared stores.
 */
import {
  applyUploadChange,
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

  async create(session: NewUploadSession): Promise<UploadSession> {
    if (this.sessions.has(session.id)) throw new Error(`upload session ${session.id} exists`);
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
    this.sessions.set(session.id, record);
    return copy(record);
  }

  async get(id: string): Promise<UploadSession | undefined> {
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

  async delete(id: string, expectedVersion?: number): Promise<boolean> {
    const s = this.sessions.get(id);
    if (!s || (expectedVersion !== undefined && s.version !== expectedVersion)) return false;
    return this.sessions.delete(id);
  }

  async idle(before: number, limit: number): Promise<UploadSession[]> {
    return [...this.sessions.values()]
      .filter((s) => s.updatedAt < before)
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .slice(0, limit)
      .map(copy);
  }
}
