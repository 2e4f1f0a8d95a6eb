import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { openDatabase, WAL_SIZE_LIMIT, type Db } from '../database.js';
import { WalCheckpointer } from './wal-checkpointer.js';

async function freshDb(): Promise<Db> {
  const db = openDatabase(path.join(await mkdtemp(path.join(tmpdir(), 'berth-ckpt-')), 'meta.db'));
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  return db;
}

const autocheckpoint = (db: Db): number => db.pragma('wal_autocheckpoint', { simple: true }) as number;

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(25);
  assert.ok(done(), `timed out waiting until ${what}`);
}

describe('WalCheckpointer', () => {
  it('keeps the log short with inline checkpoints off: the thread checkpoints what is committed', async () => {
    const db = await freshDb();
    const checkpointer = new WalCheckpointer(db, db.name, { intervalMs: 20 });
    try {
      const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
      const page = Buffer.alloc(4096, 7);
      insert.run(0, page);
      await until('the thread has checkpointed', () => checkpointer.checkpoints > 0);
      assert.equal(checkpointer.inline, false);
      assert.equal(autocheckpoint(db), 0);
      // 4,000 commits of a row over a page each: about 40 MB of log with no checkpoint at all.
      for (let k = 1; k <= 4000; k++) {
        insert.run(k, page);
        if (k % 100 === 0) await sleep(25);
      }
      const wal = await stat(`${db.name}-wal`);
      assert.ok(wal.size < 12 * 1024 * 1024, `the log grew to ${wal.size} bytes`);
      assert.equal(checkpointer.failures, 0);
    } finally {
      await checkpointer.stop();
      db.close();
    }
    assert.equal(checkpointer.inline, true);
  });

  it('cuts a long log back once the database is quiet, not in a commit', async () => {
    const db = await freshDb();
    const checkpointer = new WalCheckpointer(db, db.name, { intervalMs: 20, idleTicks: 5 });
    try {
      db.prepare('INSERT INTO t (k, v) VALUES (0, zeroblob(1))').run();
      await until('the thread has checkpointed', () => checkpointer.checkpoints > 0);
      assert.equal(db.pragma('journal_size_limit', { simple: true }), -1);
      const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
      const page = Buffer.alloc(4096, 7);
      db.transaction(() => {
        for (let k = 1; k <= 3000; k++) insert.run(k, page);
      })();
      const walSize = (): number => statSync(`${db.name}-wal`, { throwIfNoEntry: false })?.size ?? 0;
      assert.ok(walSize() > 2 * WAL_SIZE_LIMIT, 'the transaction grew the log');
      await until('the log is cut back', () => walSize() <= WAL_SIZE_LIMIT);
      assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 3001);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it('an idle database costs no checkpoint', async () => {
    const db = await freshDb();
    const checkpointer = new WalCheckpointer(db, db.name, { intervalMs: 10 });
    try {
      db.prepare('INSERT INTO t (k, v) VALUES (1, zeroblob(1))').run();
      await until('the thread has checkpointed', () => checkpointer.checkpoints > 0);
      const after = checkpointer.checkpoints;
      await sleep(200);
      assert.equal(checkpointer.checkpoints, after);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it('checkpoints inline while the thread fails, and hands back once a restarted thread works', async () => {
    const db = await freshDb();
    // The thread is pointed at a file that is not there yet: it dies at start-up, every time.
    const missing = path.join(path.dirname(db.name), 'later.db');
    const errors: Error[] = [];
    const checkpointer = new WalCheckpointer(db, missing, {
      intervalMs: 10,
      restartMs: 20,
      onError: (err) => errors.push(err),
    });
    try {
      await until('two failures are reported', () => errors.length >= 2);
      assert.equal(checkpointer.inline, true);
      assert.equal(autocheckpoint(db), 1000);
      assert.ok(checkpointer.failures >= 2);
      const later = openDatabase(missing);
      later.prepare('CREATE TABLE u (k INTEGER PRIMARY KEY)').run();
      await until('a restarted thread has checkpointed', () => checkpointer.checkpoints > 0);
      assert.equal(checkpointer.inline, false);
      await checkpointer.stop();
      later.close();
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });
});
