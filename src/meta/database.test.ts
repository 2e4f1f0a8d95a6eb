import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { openDatabase, WAL_SIZE_LIMIT } from './database.js';

it('cuts the WAL back to its limit after a transaction larger than the limit', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-wal-'));
  const file = path.join(dir, 'meta.db');
  const db = openDatabase(file);
  try {
    db.exec('CREATE TABLE filler (k INTEGER PRIMARY KEY, v BLOB)');
    const insert = db.prepare('INSERT INTO filler (v) VALUES (?)');
    // About 9 MiB of pages in one transaction: the WAL must hold them all until it commits.
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(Buffer.alloc(3000));
    })();
    assert.ok(statSync(`${file}-wal`).size > 2 * WAL_SIZE_LIMIT, 'the transaction grew the WAL');
    // Small commits afterwards: the automatic checkpoint completes and the log restarts.
    for (let i = 0; i < 1200; i++) insert.run(Buffer.alloc(10));
    assert.ok(statSync(`${file}-wal`).size <= WAL_SIZE_LIMIT, 'the WAL was cut back');
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
