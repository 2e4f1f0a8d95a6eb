/**
 * The UserOrigins port on PostgreSQL (module `user-origins`). `record` is one conditional upsert:
 * a row that already holds the origin is left alone (no new row version on every authenticated
 * request), and the comparison is with the row, never with what this replica wrote last.
 */
import type { UserOrigin, UserOriginRecord, UserOriginStore } from '../user-origins.js';
import type { Migrations, Pool } from './database.js';

export const USER_ORIGIN_MIGRATIONS: Migrations = {
  module: 'user-origins',
  steps: [
    `CREATE TABLE auth_user_origins (
       username TEXT PRIMARY KEY,
       origin TEXT NOT NULL,
       recorded_at BIGINT NOT NULL
     );`,
  ],
};

export class PostgresUserOrigins implements UserOriginStore {
  constructor(private readonly pool: Pool) {}

  async record(username: string, origin: UserOrigin, at: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO auth_user_origins (username, origin, recorded_at) VALUES ($1, $2, $3)
       ON CONFLICT (username) DO UPDATE SET origin = excluded.origin, recorded_at = excluded.recorded_at
       WHERE auth_user_origins.origin <> excluded.origin`,
      [username, origin, at.getTime()],
    );
  }

  async originOf(username: string): Promise<UserOrigin | undefined> {
    const { rows } = await this.pool.query<{ origin: UserOrigin }>(
      'SELECT origin FROM auth_user_origins WHERE username = $1',
      [username],
    );
    return rows[0]?.origin;
  }

  async exportAll(): Promise<UserOriginRecord[]> {
    const { rows } = await this.pool.query<{ username: string; origin: UserOrigin; recorded_at: number }>(
      'SELECT username, origin, recorded_at FROM auth_user_origins ORDER BY username COLLATE "C"',
    );
    return rows.map((row) => ({
      username: row.username,
      origin: row.origin,
      recordedAt: new Date(row.recorded_at),
    }));
  }

  async restore(origins: readonly UserOriginRecord[]): Promise<number> {
    if (origins.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `INSERT INTO auth_user_origins AS o (username, origin, recorded_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
       ON CONFLICT (username) DO UPDATE SET origin = excluded.origin, recorded_at = excluded.recorded_at
       WHERE excluded.recorded_at > o.recorded_at AND o.origin <> excluded.origin`,
      [
        origins.map((o) => o.username),
        origins.map((o) => o.origin),
        origins.map((o) => o.recordedAt.getTime()),
      ],
    );
    return rowCount ?? 0;
  }
}
