/**
 * Where each user's identity comes from: `htpasswd`, or `oidc:<provider>`, as of their last
 * successful sign-in. Offboarding needs it: an API key or token whose owner signed in with a
 * password stops working when the owner leaves the htpasswd file, while an OIDC user — never in
 * that file — is not affected by it. Shared by every replica through the metadata database.
 *
 * Async methods over the embedded database, so that moving to the MetadataStore port is mechanical.
 */
import type { Db } from './database.js';

export type UserOrigin = 'htpasswd' | `oidc:${string}`;

function migrate(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS auth_user_origins (
    username TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
  ) WITHOUT ROWID`);
}

export class UserOriginStore {
  readonly #upsert;
  readonly #get;
  /** What this process last wrote per user, so that a push of dozens of requests writes once. */
  readonly #written = new Map<string, UserOrigin>();

  constructor(db: Db) {
    migrate(db);
    this.#upsert = db.prepare(
      `INSERT INTO auth_user_origins (username, origin, recorded_at) VALUES (?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET origin = excluded.origin, recorded_at = excluded.recorded_at`,
    );
    this.#get = db.prepare('SELECT origin FROM auth_user_origins WHERE username = ?');
  }

  async record(username: string, origin: UserOrigin, at: Date): Promise<void> {
    if (this.#written.get(username) === origin) return;
    if (this.#written.size >= 10_000) this.#written.clear();
    this.#upsert.run(username, origin, at.getTime());
    this.#written.set(username, origin);
    return Promise.resolve();
  }

  /** The origin of `username`'s last sign-in; undefined when none was recorded. */
  async originOf(username: string): Promise<UserOrigin | undefined> {
    const row = this.#get.get(username) as { origin: UserOrigin } | undefined;
    return Promise.resolve(row?.origin);
  }
}
