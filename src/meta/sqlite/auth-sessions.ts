import type { Db } from '../database.js';
import { randomSecret, sha256Hex } from '../../auth/store/hash.js';
import type { SessionRecord, SessionStore } from '../../auth/store/sessions.js';

interface Row {
  username: string;
  provider: string | null;
  created_at: number;
  expires_at: number;
}

/**
 * Browser sessions, server-side in the metadata database so that they survive a restart and end
 * when deleted. The cookie carries a random 256-bit id; the database only its SHA-256, so a copy
 * of the database cannot be turned into a cookie. Expiry is absolute (never extended on use).
 */
export class SqliteSessions implements SessionStore {
  readonly #insert;
  readonly #find;
  readonly #delete;
  readonly #purge;

  constructor(db: Db) {
    this.#insert = db.prepare(
      'INSERT INTO auth_sessions (id_hash, username, provider, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.#find = db.prepare(
      'SELECT username, provider, created_at, expires_at FROM auth_sessions WHERE id_hash = ?',
    );
    this.#delete = db.prepare('DELETE FROM auth_sessions WHERE id_hash = ?');
    this.#purge = db.prepare('DELETE FROM auth_sessions WHERE expires_at <= ?');
  }

  /** Starts a session; returns its id, the secret to put in the cookie (and nowhere else). */
  async create(
    username: string,
    provider: string | undefined,
    now: Date,
    ttlMs: number,
  ): Promise<{ id: string; record: SessionRecord }> {
    const id = randomSecret();
    const expiresAt = new Date(now.getTime() + ttlMs);
    this.#insert.run(sha256Hex(id), username, provider ?? null, now.getTime(), expiresAt.getTime());
    return { id, record: { username, provider, createdAt: now, expiresAt } };
  }

  /** The live session an id stands for; an expired one is deleted and not returned. */
  async find(id: string, now: Date): Promise<SessionRecord | undefined> {
    const hash = sha256Hex(id);
    const row = this.#find.get(hash) as Row | undefined;
    if (row === undefined) return undefined;
    if (row.expires_at <= now.getTime()) {
      this.#delete.run(hash);
      return undefined;
    }
    return {
      username: row.username,
      provider: row.provider ?? undefined,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    };
  }

  async delete(id: string): Promise<void> {
    this.#delete.run(sha256Hex(id));
  }

  /** Deletes every expired session; returns how many. */
  async purgeExpired(now: Date): Promise<number> {
    return this.#purge.run(now.getTime()).changes;
  }
}
