import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from '../../meta/sqlite/store.js';
import { SharedThrottle } from './throttle.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('SharedThrottle (over a real SQLite store)', () => {
  const opened: { meta: { close(): Promise<void> } }[] = [];
  after(async () => {
    for (const o of opened) await o.meta.close();
  });
  const store = () => {
    const o = openSqliteStore(':memory:');
    opened.push(o);
    return o.meta.throttles;
  };

  it('lets maxAttempts attempts through, then limits the key until one has drained', async () => {
    const c = clock();
    const throttle = new SharedThrottle(store(), { name: 't', maxAttempts: 3, windowMs: 60_000, now: c.now });
    for (let i = 0; i < 3; i++) assert.equal(await throttle.attempt('10.0.0.1'), 0);
    const wait = await throttle.attempt('10.0.0.1');
    assert.ok(wait > 19_000 && wait <= 20_001, `one attempt per 20 s (${wait})`);
    assert.equal(await throttle.attempt('10.0.0.2'), 0, 'other keys are not affected');
    c.advance(wait - 1);
    assert.ok((await throttle.attempt('10.0.0.1')) > 0);
    c.advance(2);
    assert.equal(await throttle.attempt('10.0.0.1'), 0);
    assert.ok((await throttle.attempt('10.0.0.1')) > 0);
  });

  it('a refunded attempt does not count; a reset forgets the key and its cached refusal', async () => {
    const c = clock();
    const throttle = new SharedThrottle(store(), { name: 't', maxAttempts: 2, now: c.now });
    for (let i = 0; i < 5; i++) {
      assert.equal(await throttle.attempt('alice'), 0);
      await throttle.refund('alice');
    }
    await throttle.attempt('alice');
    await throttle.attempt('alice');
    assert.ok((await throttle.attempt('alice')) > 0);
    assert.equal(throttle.cachedRefusals, 1);
    await throttle.reset('alice');
    assert.equal(throttle.cachedRefusals, 0);
    assert.equal(await throttle.attempt('alice'), 0);
  });

  it('two processes (two throttles on one store) count into one bucket; names keep throttles apart', async () => {
    const c = clock();
    const shared = store();
    const a = new SharedThrottle(shared, { name: 'pw', maxAttempts: 4, now: c.now });
    const b = new SharedThrottle(shared, { name: 'pw', maxAttempts: 4, now: c.now });
    const other = new SharedThrottle(shared, { name: 'oidc', maxAttempts: 4, now: c.now });
    assert.equal(await a.attempt('k'), 0);
    assert.equal(await b.attempt('k'), 0);
    assert.equal(await a.attempt('k'), 0);
    assert.equal(await b.attempt('k'), 0);
    assert.ok((await a.attempt('k')) > 0);
    assert.ok((await b.attempt('k')) > 0);
    assert.equal(await other.attempt('k'), 0);
  });

  it('remembers at most maxCachedRefusals refusals', async () => {
    const c = clock();
    const throttle = new SharedThrottle(store(), {
      name: 't',
      maxAttempts: 1,
      maxCachedRefusals: 3,
      now: c.now,
    });
    for (let i = 0; i < 10; i++) {
      await throttle.attempt(`k${i}`);
      assert.ok((await throttle.attempt(`k${i}`)) > 0);
    }
    assert.equal(throttle.cachedRefusals, 3);
    assert.ok((await throttle.attempt('k0')) > 0, 'a forgotten refusal is asked of the store again');
  });

  it('rejects nonsensical options', () => {
    const s = store();
    assert.throws(() => new SharedThrottle(s, { name: 't', maxAttempts: 0 }), RangeError);
    assert.throws(() => new SharedThrottle(s, { name: 't', windowMs: 0 }), RangeError);
    assert.throws(() => new SharedThrottle(s, { name: '' }), RangeError);
    assert.throws(() => new SharedThrottle(s, { name: 't', maxAttempts: Number.NaN }), RangeError);
  });
});
