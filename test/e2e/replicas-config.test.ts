/**
 * What `berth verify` and `berth serve` say about S3 configurations before any engine is involved:
 * S3 storage with the embedded SQLite metadata is refused naming `storage.cacheDriver`, a storage
 * driver Berth does not implement is refused naming its name, and S3 with PostgreSQL is valid.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../support/clients.js';
import { CLI } from '../support/server.js';

const S3 = {
  name: 's3',
  region: 'us-east-1',
  regionendpoint: 'http://127.0.0.1:9',
  bucket: 'registry',
  accesskey: 'AK',
  secretkey: 'SK',
};

describe('S3 configurations', () => {
  let dir: string | undefined;
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function verify(storage: Record<string, unknown>, command = 'verify') {
    dir ??= await mkdtemp(path.join(tmpdir(), 'berth-s3-config-'));
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify({ distSpecVersion: '1.1.0', storage, http: { port: '0' } }));
    return run(process.execPath, [CLI, command, file], { env: { ...process.env, BERTH_POSTGRES_URL: '' } });
  }

  it('S3 without a postgres cacheDriver is refused, naming storage.cacheDriver (verify and serve)', async () => {
    for (const command of ['verify', 'serve']) {
      const result = await verify({ rootDirectory: dir ?? tmpdir(), storageDriver: S3 }, command);
      assert.notEqual(result.code, 0, command);
      assert.match(result.stderr, /storage\.cacheDriver/, result.stderr);
      assert.match(result.stderr, /SQLite metadata is not a supported combination/, result.stderr);
    }
  });

  it('a storage driver Berth does not implement is refused by name', async () => {
    const result = await verify({ storageDriver: { name: 'gcs', bucket: 'b' } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /storage\.storageDriver\.name/, result.stderr);
  });

  it('S3 with PostgreSQL metadata and redirectBlobURL is valid, without a not-implemented warning', async () => {
    const result = await verify({
      storageDriver: S3,
      redirectBlobURL: true,
      remoteCache: true,
      cacheDriver: { name: 'postgres', url: 'postgres://u:p@127.0.0.1:9/db' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /storageDriver|redirectBlobURL/, result.stdout);
  });
});
