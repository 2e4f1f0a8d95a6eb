import type { Db } from '../database.js';
import type { UserRecord, UserStore } from '../../auth/store/users.js';

/**
 * Users as of their last interactive sign-in. zot keeps the same record: an API key carries the
 * groups its owner had when they last signed in through the browser, not when the key was made,
 * and they are not re-checked with the identity provider until the next sign-in.
 */
export class SqliteUsers implements UserStore {
  readonly #upsert;
  readonly #groups;
  readonly #all;
  readonly #restore;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#upsert = db.prepare(
      `INSERT INTO auth_users (username, groups, signed_in_at) VALUES (?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET groups = excluded.groups, signed_in_at = excluded.signed_in_at`,
    );
    this.#groups = db.prepare('SELECT groups FROM auth_users WHERE username = ?');
    this.#all = db.prepare('SELECT username, groups, signed_in_at FROM auth_users ORDER BY username');
    this.#restore = db.prepare(
      `INSERT INTO auth_users (username, groups, signed_in_at) VALUES (?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET groups = excluded.groups, signed_in_at = excluded.signed_in_at
       WHERE excluded.signed_in_at > auth_users.signed_in_at`,
    );
  }

  /** Records an interactive sign-in and the groups the identity provider asserted. */
  async recordSignIn(username: string, groups: readonly string[], at: Date): Promise<void> {
    this.#upsert.run(username, JSON.stringify([...groups]), at.getTime());
  }

  /** The groups of `username`'s last interactive sign-in; undefined when they never signed in. */
  async groupsOf(username: string): Promise<string[] | undefined> {
    const row = this.#groups.get(username) as { groups: string } | undefined;
    return row === undefined ? undefined : parseGroups(row.groups);
  }

  async exportAll(): Promise<UserRecord[]> {
    const rows = this.#all.all() as { username: string; groups: string; signed_in_at: number }[];
    return rows.map((row) => ({
      username: row.username,
      groups: parseGroups(row.groups),
      signedInAt: new Date(row.signed_in_at),
    }));
  }

  async restore(users: readonly UserRecord[]): Promise<number> {
    return this.#db
      .transaction(() => {
        let written = 0;
        for (const u of users)
          written += this.#restore.run(
            u.username,
            JSON.stringify([...u.groups]),
            u.signedInAt.getTime(),
          ).changes;
        return written;
      })
      .immediate();
  }
}

function parseGroups(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string') : [];
}
