/**
 * The UserOrigins port on SQLite: table `auth_user_origins` (created if missing, as released).
 * `record` reads before it writes: most calls repeat what is stored (every password-authenticated
 * request records), and a read takes no write lock; the decision comes from the database, so a
 * change written by another process is never masked.
 */
import type { Db } from '../database.js';
import type { UserOrigin, UserOriginRecord, UserOriginStore } from '../user-origins.js';

function migrate(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS auth_user_origins (
    username TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
  ) WITHOUT ROWID`);
}

export class SqliteUserOrigins implements UserOriginStore {
  readonly #upsert;
  readonly #get;
  readonly #all;
  readonly #restore;
  readonly #db: Db;

  constructor(db: Db) {
    migrate(db);
    this.#db = db;
    this.#upsert = db.prepare(
      `INSERT INTO auth_user_origins (username, origin, recorded_at) VALUES (?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET origin = excluded.origin, recorded_at = excluded.recorded_at
       WHERE auth_user_origins.origin <> excluded.origin`,
    );
    this.#get = db.prepare('SELECT origin FROM auth_user_origins WHERE username = ?').pluck();
    this.#all = db.prepare('SELECT username, origin, recorded_at FROM auth_user_origins ORDER BY username');
    this.#restore = db.prepare(
      `INSERT INTO auth_user_origins (username, origin, recorded_at) VALUES (?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET origin = excluded.origin, recorded_at = excluded.recorded_at
       WHERE excluded.recorded_at > auth_user_origins.recorded_at
         AND auth_user_origins.origin <> excluded.origin`,
    );
  }

  async record(username: string, origin: UserOrigin, at: Date): Promise<void> {
    if ((this.#get.get(username) as UserOrigin | undefined) === origin) return Promise.resolve();
    this.#upsert.run(username, origin, at.getTime());
    return Promise.resolve();
  }

  async originOf(username: string): Promise<UserOrigin | undefined> {
    return Promise.resolve(this.#get.get(username) as UserOrigin | undefined);
  }

  async exportAll(): Promise<UserOriginRecord[]> {
    const rows = this.#all.all() as { username: string; origin: UserOrigin; recorded_at: number }[];
    return Promise.resolve(
      rows.map((row) => ({
        username: row.username,
        origin: row.origin,
        recordedAt: new Date(row.recorded_at),
      })),
    );
  }

  async restore(origins: readonly UserOriginRecord[]): Promise<number> {
    const tx = this.#db.transaction(() => {
      let written = 0;
      for (const o of origins)
        written += this.#restore.run(o.username, o.origin, o.recordedAt.getTime()).changes;
      return written;
    });
    return Promise.resolve(tx.immediate());
  }
}
