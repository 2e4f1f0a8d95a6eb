/**
 * The change counter of the PostgreSQL store: PostgreSQL's stand-in for SQLite's `data_version`,
 * which tells a process that another one wrote. It is a sequence, advanced after each committed
 * registry-index write that moved a repository's stamp, and read by the UI summaries at the start
 * of each request: when it moved since their last full check, they compare every stamp at once.
 *
 * Why a sequence and not a counter row: `nextval` takes no row lock, so replicas pushing to
 * different repositories never queue behind one hot row. Why after the commit and not inside the
 * transaction: a sequence is not transactional, so a reader could otherwise see the new value
 * before the write is visible, compare stamps too early and then believe itself current. A process
 * dying between its commit and the advance leaves the change to the periodic full check
 * (FULL_CHECK_MS), as for any change that raised no event.
 *
 * Why read it per request rather than learn of changes by LISTEN/NOTIFY: a notification arrives
 * some milliseconds after the commit, so a client that pushed through one replica and at once
 * opens the UI through another could be shown the old state; one `SELECT last_value` (well under a
 * millisecond on a pooled connection) is exact. LISTEN/NOTIFY wakes waiters for locks instead
 * (`notifications.ts`), where promptness matters and a missed message costs only a poll.
 */
import type { Migrations, Pool } from './database.js';

export const CHANGES_MIGRATIONS: Migrations = {
  module: 'changes',
  steps: ['CREATE SEQUENCE meta_changes'],
};

export class ChangeCounter {
  constructor(private readonly pool: Pool) {}

  /** Call after a write committed. */
  async advance(): Promise<void> {
    await this.pool.query("SELECT nextval('meta_changes')");
  }

  async current(): Promise<number> {
    // Before its first nextval a sequence shows its start value with is_called false: count that as 0.
    const { rows } = await this.pool.query<{ v: number }>(
      'SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS v FROM meta_changes',
    );
    return rows[0]!.v;
  }
}
