import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FolderSync } from './folder-sync.js';

describe('FolderSync', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-folder-sync-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs one after another when callers wait for each other', async () => {
    const folders = new FolderSync();
    for (let i = 0; i < 5; i++) {
      await writeFile(path.join(dir, `seq-${i}`), 'x');
      await folders.sync(dir);
    }
    assert.equal(folders.started, 5);
  });

  it('shares fsyncs among concurrent callers: at most the running one and one more', async () => {
    const folders = new FolderSync();
    const first = folders.sync(dir);
    const rest = Array.from({ length: 50 }, () => folders.sync(dir));
    await Promise.all([first, ...rest]);
    assert.equal(folders.started, 2);
    // Everything settled: the next caller starts a fresh fsync.
    await folders.sync(dir);
    assert.equal(folders.started, 3);
  });

  it('keeps folders apart', async () => {
    const folders = new FolderSync();
    const other = path.join(dir, 'other');
    await mkdir(other);
    await Promise.all([folders.sync(dir), folders.sync(other)]);
    assert.equal(folders.started, 2);
  });

  it('rejects for a folder that is not there, and recovers', async () => {
    const folders = new FolderSync();
    const missing = path.join(dir, 'missing');
    await assert.rejects(folders.sync(missing), { code: 'ENOENT' });
    await mkdir(missing);
    await folders.sync(missing);
  });

  it('syncs the parent of each folder mkdir -p made', async () => {
    const folders = new FolderSync();
    const deepest = path.join(dir, 'a', 'b', 'c');
    const first = await mkdir(deepest, { recursive: true });
    await folders.created(first, deepest);
    assert.equal(folders.started, 3); // dir, a, b
    await folders.created(await mkdir(deepest, { recursive: true }), deepest);
    assert.equal(folders.started, 3); // nothing new was made
  });
});
