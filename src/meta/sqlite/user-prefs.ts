/**
 * The UserPrefs port on SQLite: table `search_user_prefs` (module `search-user-prefs`, as released).
 * A toggle is one IMMEDIATE transaction: it takes the write lock before reading the flag, so two
 * processes toggling at once serialise instead of both reading the old value.
 */
import { migrateModule, type Db } from '../database.js';
import type { Preference, UserPrefRow, UserPrefs, UserPrefsStore } from '../user-prefs.js';

const USER_PREFS_MIGRATIONS = [
  `CREATE TABLE search_user_prefs (
     username TEXT NOT NULL,
     repo TEXT NOT NULL,
     starred INTEGER NOT NULL DEFAULT 0,
     bookmarked INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (username, repo)
   ) WITHOUT ROWID;
   CREATE INDEX search_user_prefs_starred ON search_user_prefs (repo) WHERE starred = 1;`,
];

export class SqliteUserPrefs implements UserPrefsStore {
  private readonly s;

  constructor(private readonly db: Db) {
    migrateModule(db, 'search-user-prefs', USER_PREFS_MIGRATIONS);
    this.s = {
      ofUser: db.prepare('SELECT repo, starred, bookmarked FROM search_user_prefs WHERE username = ?'),
      flag: {
        starred: db.prepare('SELECT starred FROM search_user_prefs WHERE username = ? AND repo = ?').pluck(),
        bookmarked: db
          .prepare('SELECT bookmarked FROM search_user_prefs WHERE username = ? AND repo = ?')
          .pluck(),
      },
      set: {
        starred: db.prepare(
          `INSERT INTO search_user_prefs (username, repo, starred) VALUES (?, ?, ?)
           ON CONFLICT (username, repo) DO UPDATE SET starred = excluded.starred`,
        ),
        bookmarked: db.prepare(
          `INSERT INTO search_user_prefs (username, repo, bookmarked) VALUES (?, ?, ?)
           ON CONFLICT (username, repo) DO UPDATE SET bookmarked = excluded.bookmarked`,
        ),
      },
      prune: db.prepare(
        'DELETE FROM search_user_prefs WHERE username = ? AND repo = ? AND starred = 0 AND bookmarked = 0',
      ),
      starCounts: db.prepare(
        'SELECT repo, COUNT(*) AS n FROM search_user_prefs WHERE starred = 1 GROUP BY repo',
      ),
      starCount: db.prepare('SELECT COUNT(*) FROM search_user_prefs WHERE repo = ? AND starred = 1').pluck(),
      all: db.prepare(
        'SELECT username, repo, starred, bookmarked FROM search_user_prefs ORDER BY username, repo',
      ),
      restore: db.prepare(
        `INSERT INTO search_user_prefs (username, repo, starred, bookmarked) VALUES (?, ?, ?, ?)
         ON CONFLICT (username, repo) DO UPDATE SET starred = excluded.starred, bookmarked = excluded.bookmarked
         WHERE starred <> excluded.starred OR bookmarked <> excluded.bookmarked`,
      ),
    };
  }

  async toggle(username: string, repo: string, preference: Preference): Promise<boolean> {
    return this.db
      .transaction(() => {
        const now = (this.s.flag[preference].get(username, repo) as number | undefined) !== 1;
        this.s.set[preference].run(username, repo, now ? 1 : 0);
        if (!now) this.s.prune.run(username, repo);
        return now;
      })
      .immediate();
  }

  async of(username: string): Promise<UserPrefs> {
    const prefs: UserPrefs = { starred: new Set(), bookmarked: new Set() };
    if (username === '') return prefs;
    const rows = this.s.ofUser.all(username) as { repo: string; starred: number; bookmarked: number }[];
    for (const row of rows) {
      if (row.starred === 1) prefs.starred.add(row.repo);
      if (row.bookmarked === 1) prefs.bookmarked.add(row.repo);
    }
    return prefs;
  }

  async starCounts(): Promise<Map<string, number>> {
    const rows = this.s.starCounts.all() as { repo: string; n: number }[];
    return new Map(rows.map((r) => [r.repo, r.n]));
  }

  async starCount(repo: string): Promise<number> {
    return this.s.starCount.get(repo) as number;
  }

  async exportAll(): Promise<UserPrefRow[]> {
    const rows = this.s.all.all() as {
      username: string;
      repo: string;
      starred: number;
      bookmarked: number;
    }[];
    return rows.map((row) => ({
      username: row.username,
      repo: row.repo,
      starred: row.starred === 1,
      bookmarked: row.bookmarked === 1,
    }));
  }

  async restore(rows: readonly UserPrefRow[]): Promise<number> {
    return this.db
      .transaction(() => {
        let written = 0;
        for (const r of rows) {
          // A row with neither flag is never kept (toggle prunes it): nothing to write.
          if (!r.starred && !r.bookmarked) continue;
          written += this.s.restore.run(r.username, r.repo, r.starred ? 1 : 0, r.bookmarked ? 1 : 0).changes;
        }
        return written;
      })
      .immediate();
  }
}
