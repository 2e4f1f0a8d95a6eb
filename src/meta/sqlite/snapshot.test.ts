import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { snapshotSqliteDatabase } from './snapshot.js';
import { openSqliteStore } from './store.js';

const NEW_KEY = {
  owner: 'zot-ci',
  label: 'ci',
  scopes: null,
  creatorUa: 'test',
  expiresAt: undefined,
  now: new Date(1_000),
};

describe('snapshotSqliteDatabase', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-snapshot-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Names, sizes and modification times of the files in `folder`. */
  const listing = async (folder: string): Promise<string[]> =>
    Promise.all(
      (await readdir(folder)).sort().map(async (name) => {
        const info = await stat(path.join(folder, name));
        return `${name} ${info.size} ${info.mtimeMs}`;
      }),
    );

  it('copies a database closed cleanly without writing anything beside it', async () => {
    const source = path.join(dir, 'closed');
    const file = path.join(source, 'meta.db');
    const { meta } = openSqliteStore(file);
    const { key } = await meta.apiKeys.create(NEW_KEY);
    await meta.close();
    const before = await listing(source);
    assert.deepEqual(
      before.map((line) => line.split(' ')[0]),
      ['meta.db'],
      'a clean close leaves the main file alone',
    );

    const copy = path.join(dir, 'closed-copy.db');
    assert.equal(await snapshotSqliteDatabase(file, copy), true);
    assert.deepEqual(await listing(source), before, 'the source folder is as it was');
    const opened = openSqliteStore(copy);
    try {
      assert.equal((await opened.meta.apiKeys.findByKey(key))?.owner, 'zot-ci');
    } finally {
      await opened.meta.close();
    }
  });

  it("copies an open database's committed state, its write-ahead log included", async () => {
    const file = path.join(dir, 'open', 'meta.db');
    const live = openSqliteStore(file);
    try {
      const { key } = await live.meta.apiKeys.create(NEW_KEY);
      await live.meta.userPrefs.toggle('ann', 'team/app', 'starred');
      const copy = path.join(dir, 'open-copy.db');
      assert.equal(await snapshotSqliteDatabase(file, copy), true);
      const opened = openSqliteStore(copy);
      try {
        assert.equal((await opened.meta.apiKeys.findByKey(key))?.owner, 'zot-ci');
        assert.equal(await opened.meta.userPrefs.starCount('team/app'), 1);
      } finally {
        await opened.meta.close();
      }
    } finally {
      await live.meta.close();
    }
  });

  it('answers false when there is no database', async () => {
    assert.equal(
      await snapshotSqliteDatabase(path.join(dir, 'none', 'meta.db'), path.join(dir, 'x.db')),
      false,
    );
  });
});
