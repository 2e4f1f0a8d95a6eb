/**
 * The UserPrefs port: per-user repository preferences of the search extension (zot's
 * `userprefs`), stars and bookmarks. One row per (user, repository) with either flag set; a star
 * count is a count of rows. In the metadata store (not in memory) so every replica answers the same.
 *
 * Rows outlive their repository on purpose: a repository deleted and pushed again keeps its stars,
 * as in zot (whose user records are not touched by deletes). Readers filter by what exists.
 * SQLite: `sqlite/user-prefs.ts`; PostgreSQL: `postgres/user-prefs.ts`.
 */

export type Preference = 'starred' | 'bookmarked';

export interface UserPrefs {
  starred: Set<string>;
  bookmarked: Set<string>;
}

/** One user's flags on one repository, as stored (at least one set): `berth migrate`. */
export interface UserPrefRow {
  readonly username: string;
  readonly repo: string;
  readonly starred: boolean;
  readonly bookmarked: boolean;
}

export interface UserPrefsStore {
  /**
   * Flips one flag of `username` on `repo` atomically (two replicas flipping at once flip twice);
   * resolves with the new value.
   */
  toggle(username: string, repo: string, preference: Preference): Promise<boolean>;
  /** The repositories `username` starred and bookmarked (empty sets for the anonymous caller ''). */
  of(username: string): Promise<UserPrefs>;
  /** Stars per repository, for repositories with at least one. */
  starCounts(): Promise<Map<string, number>>;
  starCount(repo: string): Promise<number>;
  /** Every row (user, repository, flags): `berth migrate`. */
  exportAll(): Promise<UserPrefRow[]>;
  /**
   * Writes exported rows idempotently: the flags of each (user, repository) become the given
   * ones (the source of a migration wins, as for tags). Resolves with how many rows were written.
   */
  restore(rows: readonly UserPrefRow[]): Promise<number>;
}
