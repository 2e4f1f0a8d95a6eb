/** The shared throttle buckets on PostgreSQL (`meta/throttle-buckets.ts`): one row per bucket. */
import { drained, msUntilRoom, type BucketRule, type ThrottleBuckets } from '../throttle-buckets.js';
import type { Migrations, Pool } from './database.js';

export const THROTTLE_MIGRATIONS: Migrations = {
  module: 'throttle',
  steps: [
    `CREATE TABLE throttle_buckets (
       key TEXT PRIMARY KEY,
       level DOUBLE PRECISION NOT NULL,
       at BIGINT NOT NULL,
       empty_at BIGINT NOT NULL
     );
     CREATE INDEX throttle_buckets_empty ON throttle_buckets (empty_at);`,
  ],
};

/** The stored level drained to $2 ($3 units per ms); explicit casts, so pg infers no integer. */
const DRAINED = 'GREATEST(0, t.level - GREATEST(0, $2::bigint - t.at) * $3::double precision)';

export class PostgresThrottleBuckets implements ThrottleBuckets {
  constructor(private readonly pool: Pool) {}

  async take(key: string, rule: BucketRule, nowMs: number): Promise<number> {
    // INSERT … ON CONFLICT DO UPDATE … WHERE locks the row and evaluates the WHERE on its newest
    // version: replicas racing for the last unit are serialised, only one gets it.
    const { rows } = await this.pool.query(
      `INSERT INTO throttle_buckets AS t (key, level, at, empty_at)
       VALUES ($1, 1, $2::bigint, $2::bigint + ceil(1 / $3::double precision)::bigint)
       ON CONFLICT (key) DO UPDATE SET
         level = ${DRAINED} + 1,
         at = GREATEST(t.at, $2::bigint),
         empty_at = GREATEST(t.at, $2::bigint) + ceil((${DRAINED} + 1) / $3::double precision)::bigint
       WHERE ${DRAINED} + 1 <= $4::double precision
       RETURNING level`,
      [key, nowMs, rule.drainPerMs, rule.capacity],
    );
    if (rows.length > 0) return 0;
    const read = await this.pool.query<{ level: number; at: number }>(
      'SELECT level, at FROM throttle_buckets WHERE key = $1',
      [key],
    );
    const row = read.rows[0];
    return msUntilRoom(row === undefined ? 0 : drained(row.level, row.at, nowMs, rule), rule);
  }

  async giveBack(key: string, rule: BucketRule, nowMs: number): Promise<void> {
    await this.pool.query(
      `UPDATE throttle_buckets AS t SET
         level = GREATEST(0, ${DRAINED} - 1),
         at = GREATEST(t.at, $2::bigint),
         empty_at = GREATEST(t.at, $2::bigint) + ceil(GREATEST(0, ${DRAINED} - 1) / $3::double precision)::bigint
       WHERE t.key = $1`,
      [key, nowMs, rule.drainPerMs],
    );
  }

  async clear(key: string): Promise<void> {
    await this.pool.query('DELETE FROM throttle_buckets WHERE key = $1', [key]);
  }

  async purgeEmpty(nowMs: number): Promise<number> {
    return (
      (await this.pool.query('DELETE FROM throttle_buckets WHERE empty_at <= $1', [nowMs])).rowCount ?? 0
    );
  }
}
