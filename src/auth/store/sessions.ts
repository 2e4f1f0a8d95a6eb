/**
 * The browser-session records port (part of the MetadataStore): server-side, so that they survive
 * a restart, end when deleted, and work on every process. The cookie carries a random 256-bit id;
 * the store only its SHA-256, so a copy of the store cannot be turned into a cookie. Expiry is
 * absolute (never extended on use). SQLite implementation: `meta/sqlite/auth-sessions.ts`.
 */

export interface SessionRecord {
  readonly username: string;
  /** The OpenID provider the user signed in with; undefined for a password sign-in. */
  readonly provider: string | undefined;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export interface SessionStore {
  /** Starts a session; returns its id, the secret to put in the cookie (and nowhere else). */
  create(
    username: string,
    provider: string | undefined,
    now: Date,
    ttlMs: number,
  ): Promise<{ id: string; record: SessionRecord }>;
  /** The live session an id stands for; an expired one is deleted and not returned. */
  find(id: string, now: Date): Promise<SessionRecord | undefined>;
  delete(id: string): Promise<void>;
  /** Deletes every expired session; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}
