/** The recent-blob ledger against the SQLite port: batching per turn, retry after a failed write. */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { openDatabase, type Db } from '../meta/database.js';
import { SqliteRecentBlobs } from '../meta/sqlite/pull-times.js';
import { RecentBlobLedger } from './usage.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('RecentBlobLedger', () => {
  let db: Db | undefined;
  afterEach(() => db?.close());

  function open(): { db: Db; store: SqliteRecentBlobs } {
    db = openDatabase(':memory:');
    return { db, store: new SqliteRecentBlobs(db) };
  }

  it('writes the records of one turn together, keeping the latest time per blob', async () => {
    const { db, store } = open();
    const errors: unknown[] = [];
    const ledger = new RecentBlobLedger(store, (err) => errors.push(err));
    ledger.record('r', A, 100);
    ledger.record('r', A, 90);
    ledger.record('r', B, 50);
    ledger.record('s', A, 70);
    assert.equal(await store.storedAt('r', A), undefined, 'nothing is written within the turn');
    const before = db.prepare('SELECT total_changes() AS n').pluck().get() as number;
    await turn();
    await turn();
    assert.equal(await store.storedAt('r', A), 100);
    assert.equal(await store.storedAt('r', B), 50);
    assert.equal(await store.storedAt('s', A), 70);
    assert.equal((db.prepare('SELECT total_changes() AS n').pluck().get() as number) - before, 3);
    assert.deepEqual(errors, []);
  });

  it('reports a failed write and retries it, newer times winning', async () => {
    const { db, store } = open();
    const errors: unknown[] = [];
    const ledger = new RecentBlobLedger(store, (err) => errors.push(err), 20);
    db.exec('ALTER TABLE gc_recent_blobs RENAME TO gc_recent_blobs_away');
    ledger.record('r', A, 100);
    await turn();
    await turn();
    assert.equal(errors.length, 1, 'the failure is reported once per attempt');
    ledger.record('r', A, 200);
    db.exec('ALTER TABLE gc_recent_blobs_away RENAME TO gc_recent_blobs');
    const deadline = Date.now() + 5_000;
    while ((await store.storedAt('r', A)) === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(await store.storedAt('r', A), 200);
    await ledger.close();
  });

  it('close writes what is buffered and schedules nothing after', async () => {
    const { store } = open();
    const ledger = new RecentBlobLedger(store, () => undefined);
    ledger.record('r', A, 1);
    await ledger.close();
    assert.equal(await store.storedAt('r', A), 1);
    ledger.record('r', B, 2);
    await turn();
    await turn();
    assert.equal(await store.storedAt('r', B), undefined);
  });
});
