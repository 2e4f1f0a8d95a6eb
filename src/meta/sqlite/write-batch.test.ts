import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase, type Db } from '../database.js';
import { WriteBatch, writeBatchOf } from './write-batch.js';

async function freshDb(): Promise<Db> {
  const db = openDatabase(path.join(await mkdtemp(path.join(tmpdir(), 'berth-batch-')), 'meta.db'));
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  return db;
}

const rows = (db: Db): { k: string; v: number }[] =>
  db.prepare('SELECT k, v FROM t ORDER BY k').all() as { k: string; v: number }[];

describe('WriteBatch', () => {
  it('commits the writes of one turn together, and each caller gets its own result', async () => {
    const db = await freshDb();
    const batch = new WriteBatch(db);
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const results = await Promise.all(
      ['a', 'b', 'c'].map((k, i) => batch.run(() => insert.run(k, i).changes)),
    );
    assert.deepEqual(results, [1, 1, 1]);
    assert.deepEqual(rows(db), [
      { k: 'a', v: 0 },
      { k: 'b', v: 1 },
      { k: 'c', v: 2 },
    ]);
    assert.equal(batch.commits, 1);
    assert.equal(batch.writes, 3);
  });

  it('nothing is visible to another handle before the promise settles, everything after', async () => {
    const db = await freshDb();
    const other = openDatabase(db.name);
    const batch = new WriteBatch(db);
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const pending = Promise.all([batch.run(() => insert.run('a', 1)), batch.run(() => insert.run('b', 2))]);
    assert.equal(rows(other).length, 0);
    await pending;
    assert.equal(rows(other).length, 2);
    other.close();
  });

  it("one write's failure undoes that write alone and rejects its caller alone", async () => {
    const db = await freshDb();
    db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run('taken', 0);
    const batch = new WriteBatch(db);
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const update = db.prepare('UPDATE t SET v = ? WHERE k = ?');
    const outcomes = await Promise.allSettled([
      batch.run(() => insert.run('a', 1)),
      // A write of two statements whose second fails: its first must be undone too.
      batch.run(() => {
        update.run(99, 'taken');
        insert.run('taken', 2);
      }),
      batch.run(() => {
        throw new Error('refused');
      }),
      batch.run(() => insert.run('b', 3)),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual(rows(db), [
      { k: 'a', v: 1 },
      { k: 'b', v: 3 },
      { k: 'taken', v: 0 },
    ]);
  });

  it('a write that opens its own transaction nests inside the batch', async () => {
    const db = await freshDb();
    const batch = new WriteBatch(db);
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const both = db.transaction((k: string) => {
      insert.run(`${k}1`, 1);
      insert.run(`${k}2`, 2);
    });
    await Promise.all([batch.run(() => both.immediate('x')), batch.run(() => both('y'))]);
    assert.deepEqual(
      rows(db).map((r) => r.k),
      ['x1', 'x2', 'y1', 'y2'],
    );
  });

  it('a write alone in its turn runs in autocommit, and a closed handle rejects', async () => {
    const db = await freshDb();
    const batch = new WriteBatch(db);
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    await batch.run(() => insert.run('a', 1));
    await batch.run(() => insert.run('b', 2));
    assert.equal(batch.commits, 2);
    assert.equal(rows(db).length, 2);
    const late = batch.run(() => insert.run('c', 3));
    db.close();
    await assert.rejects(late, /closed/);
  });

  it('flush applies what is queued at once (before the handle closes)', async () => {
    const db = await freshDb();
    const batch = writeBatchOf(db);
    assert.equal(writeBatchOf(db), batch, 'one batch per handle');
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const queued = batch.run(() => insert.run('a', 1));
    batch.flush();
    assert.equal(rows(db).length, 1);
    await queued;
  });
});
