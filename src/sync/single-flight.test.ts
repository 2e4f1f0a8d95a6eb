import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SingleFlight } from './single-flight.js';

describe('SingleFlight', () => {
  it('runs concurrent calls for one key once and gives each caller the result', async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const work = async (): Promise<number> => {
      calls++;
      await gate;
      return 42;
    };
    const all = Promise.all([flights.run('a', work), flights.run('a', work), flights.run('a', work)]);
    const other = flights.run('b', work);
    release();
    assert.deepEqual(await all, [42, 42, 42]);
    assert.equal(await other, 42);
    assert.equal(calls, 2);
  });

  it('forgets a key once it settles, failures included', async () => {
    const flights = new SingleFlight<number>();
    await assert.rejects(
      flights.run('a', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(flights.has('a'), false);
    assert.equal(await flights.run('a', async () => 1), 1);
  });

  it('forgets a key whose function throws before returning a promise', async () => {
    const flights = new SingleFlight<number>();
    await assert.rejects(
      flights.run('a', () => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(flights.has('a'), false);
  });
});
