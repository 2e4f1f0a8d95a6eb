/** The shared throttle buckets on SQLite (`meta/throttle-buckets.ts`): one row per bucket. */
import { migrateModule, type Db } from '../database.js';
import { drained, msUntilRoom, type BucketRule, type ThrottleBuckets } from '../throttle-buckets.js';

const MIGRATIONS = [
  `CREATE TABLE throttle_buckets (
     key TEXT PRIMARY KEY,
     level REAL NOT NULL,
     at INTEGER NOT NULL,
     empty_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX throttle_buckets_empty ON throttle_buckets (empty_at);`,
];

/** The stored level drained to @now (inside an upsert, the row's own columns are the old values). */
const DRAINED = 'max(0, level - max(0, @now - at) * @drain)';

export class SqliteThrottleBuckets implements ThrottleBuckets {
  readonly #take;
  readonly #read;
  readonly #giveBack;
  readonly #clear;
  readonly #purge;

  constructor(db: Db) {
    migrateModule(db, 'throttle-buckets', MIGRATIONS);
    // One statement: SQLite runs it in its own write transaction, so the check and the write are
    // atomic across every process on the file. No row comes back when the WHERE refuses.
    this.#take = db.prepare(
      `INSERT INTO throttle_buckets (key, level, at, empty_at) VALUES (@key, 1, @now, @now + @unitMs)
       ON CONFLICT (key) DO UPDATE SET
         level = ${DRAINED} + 1,
         at = max(at, @now),
         empty_at = max(at, @now) + CAST((${DRAINED} + 1) / @drain AS INTEGER) + 1
       WHERE ${DRAINED} + 1 <= @capacity
       RETURNING level`,
    );
    this.#read = db.prepare('SELECT level, at FROM throttle_buckets WHERE key = ?');
    this.#giveBack = db.prepare(
      `UPDATE throttle_buckets SET
         level = max(0, ${DRAINED} - 1),
         at = max(at, @now),
         empty_at = max(at, @now) + CAST(max(0, ${DRAINED} - 1) / @drain AS INTEGER) + 1
       WHERE key = @key`,
    );
    this.#clear = db.prepare('DELETE FROM throttle_buckets WHERE key = ?');
    this.#purge = db.prepare('DELETE FROM throttle_buckets WHERE empty_at <= ?');
  }

  async take(key: string, rule: BucketRule, nowMs: number): Promise<number> {
    const taken = this.#take.get({
      key,
      now: nowMs,
      drain: rule.drainPerMs,
      capacity: rule.capacity,
      unitMs: Math.ceil(1 / rule.drainPerMs),
    });
    if (taken !== undefined) return 0;
    const row = this.#read.get(key) as { level: number; at: number } | undefined;
    return msUntilRoom(row === undefined ? 0 : drained(row.level, row.at, nowMs, rule), rule);
  }

  async giveBack(key: string, rule: BucketRule, nowMs: number): Promise<void> {
    this.#giveBack.run({ key, now: nowMs, drain: rule.drainPerMs });
    return Promise.resolve();
  }

  async clear(key: string): Promise<void> {
    this.#clear.run(key);
    return Promise.resolve();
  }

  async purgeEmpty(nowMs: number): Promise<number> {
    return Promise.resolve(this.#purge.run(nowMs).changes);
  }
}
