/**
 * Leaky buckets shared by every process on one metadata store: the password-guessing throttles
 * (per client address, per user name), the OIDC sign-in start throttle, and `http.ratelimit`.
 * Counters that replicas must agree on live here, never in one process's memory: an attacker who
 * spreads attempts over replicas behind a load balancer meets the same bucket on every one.
 *
 * A bucket holds a level (units, fractional) that drains continuously at `rule.drainPerMs`. `take`
 * adds one unit only if the level stays at or below `rule.capacity` — checked and written in one
 * statement, so two processes racing for the last unit cannot both get it. The caller's clock is
 * used (a replica whose clock is behind never drains a bucket backwards: `at` only moves forward).
 *
 * Rows of buckets that have drained empty are removed by `purgeEmpty` (the `throttle-purge` job),
 * so the table holds only keys that failed lately.
 */

export interface BucketRule {
  /** Units a bucket may hold: a `take` that would go above it is refused. */
  readonly capacity: number;
  /** Units that drain per millisecond. */
  readonly drainPerMs: number;
}

export interface ThrottleBuckets {
  /**
   * Adds one unit to `key`'s bucket if it then holds at most `rule.capacity`, atomically across
   * every process on the store. Returns 0 when the unit was taken, otherwise the milliseconds
   * until one unit will have drained (at least 1).
   */
  take(key: string, rule: BucketRule, nowMs: number): Promise<number>;
  /** Takes one unit back out of `key`'s bucket (an attempt that turned out not to count). */
  giveBack(key: string, rule: BucketRule, nowMs: number): Promise<void>;
  /** Empties `key`'s bucket. */
  clear(key: string): Promise<void>;
  /** Deletes every bucket that has drained empty by `nowMs`; returns how many. */
  purgeEmpty(nowMs: number): Promise<number>;
}

/** Milliseconds until a bucket at `level` has room for one more unit (at least 1). */
export function msUntilRoom(level: number, rule: BucketRule): number {
  return Math.max(1, Math.ceil((level + 1 - rule.capacity) / rule.drainPerMs));
}

/** The level a bucket that held `level` at `atMs` holds at `nowMs`. */
export function drained(level: number, atMs: number, nowMs: number, rule: BucketRule): number {
  return Math.max(0, level - Math.max(0, nowMs - atMs) * rule.drainPerMs);
}
