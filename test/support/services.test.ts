/**
 * The scale-out engines the tests rely on are what they claim: PostgreSQL takes a password login
 * over TCP for a role that owns its database, and refuses a wrong password (the S3 store is
 * exercised by src/storage/s3/*.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

import { postgresService } from './services.js';

const run = promisify(execFile);
const pg = postgresService();

describe('PostgreSQL test service', { skip: pg.skip }, () => {
  const url = pg.service!;

  it('logs in over TCP with the password, as the owner of its database', async () => {
    const parsed = new URL(url);
    assert.equal(parsed.hostname, '127.0.0.1');
    const { stdout } = await run('psql', [
      url,
      '-XAtc',
      'SELECT current_user, pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()',
    ]);
    assert.equal(stdout.trim(), `${parsed.username}|${parsed.username}`);
    await run('psql', [url, '-XAtc', 'CREATE TABLE berth_probe (x int); DROP TABLE berth_probe']);
  });

  it('refuses a wrong password', async () => {
    const wrong = new URL(url);
    wrong.password = 'wrong';
    await assert.rejects(
      run('psql', [wrong.toString(), '-XAtc', 'SELECT 1'], {
        env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
      }),
      /password authentication failed/,
    );
  });
});
