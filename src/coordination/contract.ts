/**
 * The contract every Coordination implementation must pass. The factory returns two instances on
 * one shared store, as two processes would see it (for SQLite: two handles on one database file).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Coordination } from './coordination.js';

export interface CoordinationPair {
  a: Coordination;
  b: Coordination;
  close(): Promise<void>;
}

/** Waits until `condition` holds, checking every few milliseconds (no fixed sleeps in assertions). */
async function until(condition: () => Promise<boolean>, limitMs = 5_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(5);
  }
}

export function describeCoordinationContract(name: string, fresh: () => Promise<CoordinationPair>): void {
  describe(`coordination contract: ${name}`, () => {
    const withPair = async (fn: (pair: CoordinationPair) => Promise<void>): Promise<void> => {
      const pair = await fresh();
      try {
        await fn(pair);
      } finally {
        await pair.close();
      }
    };

    it('withLock runs critical sections of one key one at a time, first come first served, in one process', () =>
      withPair(async ({ a }) => {
        const log: string[] = [];
        const section = (id: string) => async () => {
          log.push(`${id}:in`);
          await sleep(3);
          log.push(`${id}:out`);
        };
        await Promise.all([
          a.withLock('k', section('1')),
          a.withLock('k', section('2')),
          a.withLock('k', section('3')),
        ]);
        assert.deepEqual(log, ['1:in', '1:out', '2:in', '2:out', '3:in', '3:out']);
      }));

    it('withLock excludes a second process until the first releases, and different keys do not wait', () =>
      withPair(async ({ a, b }) => {
        const log: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let entered!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        const first = a.withLock('repo:x', async () => {
          log.push('a:in');
          entered();
          await held;
          log.push('a:out');
        });
        await inside;
        const second = b.withLock('repo:x', async () => void log.push('b:in'));
        await b.withLock('repo:other', async () => void log.push('b:other'));
        assert.deepEqual(log, ['a:in', 'b:other']);
        release();
        await Promise.all([first, second]);
        assert.deepEqual(log, ['a:in', 'b:other', 'a:out', 'b:in']);
      }));

    it('withLock releases the lock when the critical section throws', () =>
      withPair(async ({ a, b }) => {
        await assert.rejects(
          a.withLock('k', () => Promise.reject(new Error('boom'))),
          /boom/,
        );
        assert.equal(await b.withLock('k', () => Promise.resolve('free')), 'free');
      }));

    it('a lease is exclusive, its fencing token grows when it changes hands, and release frees it', () =>
      withPair(async ({ a, b }) => {
        const first = await a.tryLease('l', 60_000);
        assert.ok(first);
        assert.equal(await b.tryLease('l', 60_000), undefined);
        assert.equal(await first.renew(), true);
        await first.release();
        const second = await b.tryLease('l', 60_000);
        assert.ok(second);
        assert.ok(second.token > first.token);
        assert.equal(await first.renew(), false, 'a released lease cannot be renewed');
        await second.release();
      }));

    it('the lease of a holder that stopped renewing (a dead process) lapses and another takes it over', () =>
      withPair(async ({ a, b }) => {
        const dead = await a.tryLease('l', 40);
        assert.ok(dead);
        let taken: Awaited<ReturnType<Coordination['tryLease']>>;
        await until(async () => (taken = await b.tryLease('l', 60_000)) !== undefined);
        assert.ok(taken!.token > dead.token);
        assert.equal(await dead.renew(), false, 'the old holder learns it lost the lease');
        await taken!.release();
      }));

    it('leader election: exactly one leader; resigning or dying hands leadership over', () =>
      withPair(async ({ a, b }) => {
        const la = a.leadership('gc', 60_000);
        const lb = b.leadership('gc', 60_000);
        assert.equal(await la.check(), true);
        assert.equal(await lb.check(), false);
        assert.equal(await la.check(), true, 'the leader stays leader while it renews');
        await la.resign();
        assert.equal(await lb.check(), true);
        assert.equal(await la.check(), false);

        const short = a.leadership('scrub', 40);
        const other = b.leadership('scrub', 60_000);
        assert.equal(await short.check(), true);
        assert.equal(await other.check(), false);
        // `short` never checks again: its process is gone.
        await until(() => other.check());
        assert.equal(await short.check(), false);
        await other.resign();
        await lb.resign();
      }));

    it('single flight: callers in one process share one run; another process waits for it, then runs', () =>
      withPair(async ({ a, b }) => {
        let runs = 0;
        let active = 0;
        let overlap = false;
        const work = (value: string) => async () => {
          runs++;
          active++;
          if (active > 1) overlap = true;
          await sleep(10);
          active--;
          return value;
        };
        const results = await Promise.all([
          a.singleFlight('img', work('a1')),
          a.singleFlight('img', work('a2')),
          b.singleFlight('img', work('b')),
        ]);
        assert.equal(results[0], 'a1');
        assert.equal(results[1], 'a1', 'the second caller in one process joined the first run');
        assert.equal(results[2], 'b');
        assert.equal(runs, 2);
        assert.equal(overlap, false, 'the two processes never ran the same key at once');
      }));

    it('close releases what an instance holds', () =>
      withPair(async ({ a, b }) => {
        assert.ok(await a.tryLease('held', 60_000));
        await a.close();
        const lease = await b.tryLease('held', 60_000);
        assert.ok(lease);
        await lease.release();
      }));
  });
}
