import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { openDatabase } from '../meta/database.js';
import { SqliteCoordination } from '../meta/sqlite/coordination.js';
import { JobRunner } from './jobs.js';

const log = pino({ level: 'silent' });

async function until(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(5);
  }
}

async function twoHandles(): Promise<{
  a: SqliteCoordination;
  b: SqliteCoordination;
  close: () => Promise<void>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-jobs-'));
  const dbA = openDatabase(path.join(dir, 'meta.db'));
  const dbB = openDatabase(path.join(dir, 'meta.db'));
  return {
    a: new SqliteCoordination(dbA),
    b: new SqliteCoordination(dbB),
    close: async () => {
      dbA.close();
      dbB.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('job runner', () => {
  it('survives a failing job: counts each failure and retries with growing delays until it succeeds', async () => {
    const { a, close } = await twoHandles();
    const failures: string[] = [];
    const runner = new JobRunner({
      log,
      coordination: a,
      onFailure: (job) => failures.push(job),
      firstBackoffMs: 5,
    });
    let attempts = 0;
    let succeeded = false;
    runner.add({
      name: 'flaky',
      intervalMs: 60_000,
      firstDelayMs: 0,
      elected: false,
      run: async () => {
        attempts++;
        if (attempts <= 3)
          throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        succeeded = true;
      },
    });
    await runner.start();
    await until(() => succeeded);
    assert.equal(attempts, 4);
    assert.deepEqual(failures, ['flaky', 'flaky', 'flaky']);
    await runner.stop();
    await close();
  });

  it('runs an elected job in one process only, and another takes over when the leader stops', async () => {
    const { a, b, close } = await twoHandles();
    const runs: string[] = [];
    const make = (name: string, coordination: SqliteCoordination): JobRunner => {
      const runner = new JobRunner({ log, coordination, leaseTtlMs: 60 });
      runner.add({
        name: 'gc',
        intervalMs: 10,
        firstDelayMs: 0,
        elected: true,
        run: async () => void runs.push(name),
      });
      return runner;
    };
    const ra = make('a', a);
    const rb = make('b', b);
    await ra.start();
    await rb.start();
    await until(() => runs.length >= 5);
    assert.deepEqual(new Set(runs), new Set(['a']), 'only the leader ran the job');
    assert.equal(ra.leads('gc'), true);
    assert.equal(rb.leads('gc'), false);
    await ra.stop();
    const before = runs.length;
    await until(() => runs.slice(before).includes('b'));
    assert.equal(rb.leads('gc'), true);
    await rb.stop();
    await close();
  });
});
