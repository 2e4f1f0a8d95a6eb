/**
 * The UserPrefs port on PostgreSQL (module `search-user-prefs`). A toggle is one upsert that flips
 * the flag in the row it locks (`SET starred = NOT starred`): two replicas toggling at once queue
 * on the row and flip twice, never both read the old value. A row with neither flag is deleted
 * afterwards, by a statement that checks both flags again (a flip in between keeps the row).
 */
import type { Preference, UserPrefRow, UserPrefs, UserPrefsStore } from '../user-prefs.js';
import type { Migrations, Pool } from './database.js';

export const USER_PREFS_MIGRATIONS: Migrations = {
  module: 'search-user-prefs',
  steps: [
    `CREATE TABLE search_user_prefs (
       username TEXT NOT NULL,
       repo TEXT COLLATE "C" NOT NULL,
       starred BOOLEAN NOT NULL DEFAULT false,
       bookmarked BOOLEAN NOT NULL DEFAULT false,
       PRIMARY KEY (username, repo)
     );
     CREATE INDEX search_user_prefs_starred ON search_user_prefs (repo) WHERE starred;`,
  ],
};

/** The flag's column; never interpolate anything else. */
const COLUMN: Record<Preference, string> = { starred: 'starred', bookmarked: 'bookmarked' };

export class PostgresUserPrefs implements UserPrefsStore {
  constructor(private readonly pool: Pool) {}

  async toggle(username: string, repo: string, preference: Preference): Promise<boolean> {
    const column = COLUMN[preference];
    const { rows } = await this.pool.query<{ now: boolean }>(
      `INSERT INTO search_user_prefs (username, repo, ${column}) VALUES ($1, $2, true)
       ON CONFLICT (username, repo) DO UPDATE SET ${column} = NOT search_user_prefs.${column}
       RETURNING ${column} AS now`,
      [username, repo],
    );
    const now = rows[0]!.now;
    if (!now) {
      await this.pool.query(
        'DELETE FROM search_user_prefs WHERE username = $1 AND repo = $2 AND NOT starred AND NOT bookmarked',
        [username, repo],
      );
    }
    return now;
  }

  async of(username: string): Promise<UserPrefs> {
    const prefs: UserPrefs = { starred: new Set(), bookmarked: new Set() };
    if (username === '') return prefs;
    const { rows } = await this.pool.query<{ repo: string; starred: boolean; bookmarked: boolean }>(
      'SELECT repo, starred, bookmarked FROM search_user_prefs WHERE username = $1',
      [username],
    );
    for (const row of rows) {
      if (row.starred) prefs.starred.add(row.repo);
      if (row.bookmarked) prefs.bookmarked.add(row.repo);
    }
    return prefs;
  }

  async starCounts(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ repo: string; n: number }>(
      'SELECT repo, COUNT(*) AS n FROM search_user_prefs WHERE starred GROUP BY repo',
    );
    return new Map(rows.map((r) => [r.repo, r.n]));
  }

  async starCount(repo: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM search_user_prefs WHERE repo = $1 AND starred',
      [repo],
    );
    return rows[0]!.n;
  }

  async exportAll(): Promise<UserPrefRow[]> {
    const { rows } = await this.pool.query<UserPrefRow>(
      'SELECT username, repo, starred, bookmarked FROM search_user_prefs ORDER BY username COLLATE "C", repo',
    );
    return rows.map((row) => ({ ...row }));
  }

  async restore(rows: readonly UserPrefRow[]): Promise<number> {
    // A row with neither flag is never kept (toggle deletes it): nothing to write.
    const kept = rows.filter((r) => r.starred || r.bookmarked);
    if (kept.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `INSERT INTO search_user_prefs AS p (username, repo, starred, bookmarked)
       SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::boolean[])
       ON CONFLICT (username, repo) DO UPDATE SET starred = excluded.starred, bookmarked = excluded.bookmarked
       WHERE (p.starred, p.bookmarked) IS DISTINCT FROM (excluded.starred, excluded.bookmarked)`,
      [
        kept.map((r) => r.username),
        kept.map((r) => r.repo),
        kept.map((r) => r.starred),
        kept.map((r) => r.bookmarked),
      ],
    );
    return rowCount ?? 0;
  }
}
