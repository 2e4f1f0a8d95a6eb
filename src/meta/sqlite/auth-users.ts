import type { Db } from '../database.js';
import type { UserStore } from '../../auth/store/users.js';

/**
 * Users as of their last interactive sign-in. zot keeps the same record: an API key carries the
 * groups its owner had when they last signed in through the browser, not when the key was made,
 * and they are not re-checked with the identity provider until the next sign-in.
 */
export class SqliteUsers implements UserStore {
  readonly #upsert;
  readonly #groups;

  constructor(db: Db) {
    this.#upsert = db.prepare(
      `INSERT INTO auth_users (username, groups, signed_in_at) VALUES (?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET groups = excluded.groups, signed_in_at = excluded.signed_in_at`,
    );
    this.#groups = db.prepare('SELECT groups FROM auth_users WHERE username = ?');
  }

  /** Records an interactive sign-in and the groups the identity provider asserted. */
  async recordSignIn(username: string, groups: readonly string[], at: Date): Promise<void> {
    this.#upsert.run(username, JSON.stringify([...groups]), at.getTime());
  }

  /** The groups of `username`'s last interactive sign-in; undefined when they never signed in. */
  async groupsOf(username: string): Promise<string[] | undefined> {
    const row = this.#groups.get(username) as { groups: string } | undefined;
    if (row === undefined) return undefined;
    const parsed: unknown = JSON.parse(row.groups);
    return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string') : [];
  }
}
