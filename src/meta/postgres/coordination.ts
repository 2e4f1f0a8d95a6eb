/**
 * The Coordination port on PostgreSQL: leases are rows (`coord_leases`), taken, renewed and
 * released by single statements, with expiries on the database's clock and fencing tokens from a
 * sequence. A lease names its holder (host, pid, a random id per instance); a holder that dies
 * stops renewing, and its lease lapses after its time to live. Waiters on another replica are woken
 * by NOTIFY when a lease is released, and poll (slowly) in case a message is missed.
 *
 * Why lease rows and not session-level advisory locks (`pg_advisory_lock`), though those die with
 * their connection, which would hand a crashed replica's locks over at once:
 * - a session lock belongs to one connection, so the pool would have to pin a connection for the
 *   whole critical section: a replica running 50 pushes to 50 repositories would hold 50
 *   connections idle, and the pool (and PostgreSQL's max_connections, shared by every replica)
 *   would run out; a connection released with a lock still held by a bug would leak it to
 *   whichever request takes that connection next;
 * - a half-open TCP connection (a replica frozen, or cut off by a network partition) keeps its
 *   session, and so its locks, until the server's keepalive gives up — minutes by default — while
 *   a lease lapses after its TTL whatever the network does;
 * - advisory locks carry no fencing token, and `leadership` and `tryLease` need expiry semantics
 *   anyway.
 * The cost: a dead replica's repository locks are freed after their TTL (30 s by default), not at
 * once. Transaction-level advisory locks fit where the lock is the transaction itself: schema
 * migrations (`database.ts`).
 *
 * Expiries compare with `clock_timestamp()` of the database, never with a replica's clock, so
 * replicas whose clocks disagree still agree on who holds a lease.
 */
import { LeaseRowCoordination } from '../../coordination/lease-rows.js';
import { DB_NOW_MS, type Migrations, type Pool } from './database.js';
import type { Notifications } from './notifications.js';

export const COORDINATION_MIGRATIONS: Migrations = {
  module: 'coordination',
  steps: [
    `CREATE TABLE coord_leases (
       name TEXT PRIMARY KEY,
       holder TEXT NOT NULL,
       token BIGINT NOT NULL,
       expires_at BIGINT NOT NULL
     );
     CREATE SEQUENCE coord_fence;`,
  ],
};

/** What a release announces, so that only waiters for that lease wake. */
const releasedKey = (name: string): string => `released:${name}`;

export class PostgresCoordination extends LeaseRowCoordination {
  constructor(
    private readonly pool: Pool,
    private readonly notifications: Notifications,
  ) {
    // Releases are announced (NOTIFY), so polling is only the fallback for a missed message.
    super({ firstMs: 5, maxMs: 250 });
  }

  protected async takeRow(name: string, ttlMs: number): Promise<number | undefined> {
    // One statement: the conflicting row is locked while its expiry is compared, so two replicas
    // can never both take a free lease. A holder taking its own lease again gets a new token.
    const { rows } = await this.pool.query<{ token: number }>(
      `INSERT INTO coord_leases (name, holder, token, expires_at)
       VALUES ($1, $2, nextval('coord_fence'), ${DB_NOW_MS} + $3)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at
       WHERE coord_leases.expires_at <= ${DB_NOW_MS} OR coord_leases.holder = excluded.holder
       RETURNING token`,
      [name, this.holder, Math.max(1, Math.round(ttlMs))],
    );
    return rows[0]?.token;
  }

  protected async renewRow(name: string, token: number, ttlMs: number): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE coord_leases SET expires_at = ${DB_NOW_MS} + $4 WHERE name = $1 AND holder = $2 AND token = $3`,
      [name, this.holder, token, Math.max(1, Math.round(ttlMs))],
    );
    return result.rowCount === 1;
  }

  protected async releaseRow(name: string, token: number): Promise<void> {
    // The announcement goes out at commit, only when a row was deleted.
    await this.pool.query(
      `WITH gone AS (DELETE FROM coord_leases WHERE name = $1 AND holder = $2 AND token = $3 RETURNING name)
       SELECT pg_notify($4, $5) FROM gone`,
      [name, this.holder, token, this.notifications.channel, releasedKey(name)],
    );
  }

  protected override waitForRelease(name: string, delayMs: number): Promise<void> {
    return this.notifications.wait(releasedKey(name), delayMs);
  }
}
