import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FailureThrottle } from './throttle.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('FailureThrottle', () => {
  it('lets maxFailures failures through, then limits the key', () => {
    const c = clock();
    const throttle = new FailureThrottle({ maxFailures: 3, windowMs: 60_000, now: c.now });
    for (let i = 0; i < 2; i++) throttle.recordFailure('10.0.0.1');
    assert.equal(throttle.isLimited('10.0.0.1'), false);
    throttle.recordFailure('10.0.0.1');
    assert.equal(throttle.isLimited('10.0.0.1'), true);
    assert.equal(throttle.isLimited('10.0.0.2'), false);
  });

  it('drains at maxFailures per window, allowing one more attempt per window/maxFailures', () => {
    const c = clock();
    const throttle = new FailureThrottle({ maxFailures: 3, windowMs: 60_000, now: c.now });
    for (let i = 0; i < 3; i++) throttle.recordFailure('k');
    assert.equal(throttle.isLimited('k'), true);
    const wait = throttle.retryAfterMs('k');
    assert.ok(wait >= 20_000 && wait <= 20_001, String(wait));
    c.advance(19_999);
    assert.equal(throttle.isLimited('k'), true);
    c.advance(2);
    assert.equal(throttle.isLimited('k'), false);
    assert.equal(throttle.retryAfterMs('k'), 0);
    throttle.recordFailure('k');
    assert.equal(throttle.isLimited('k'), true);
  });

  it('reports how long until a limited key may try again', () => {
    const c = clock();
    const throttle = new FailureThrottle({ maxFailures: 2, windowMs: 10_000, now: c.now });
    for (let i = 0; i < 4; i++) throttle.recordFailure('k');
    // Level 4, limit 2, drain 0.2 per second: room for one more failure once the level is 1, after 15 s.
    const wait = throttle.retryAfterMs('k');
    assert.ok(wait >= 15_000 && wait <= 15_001, String(wait));
    c.advance(wait - 2);
    assert.equal(throttle.isLimited('k'), true);
    c.advance(2);
    assert.equal(throttle.isLimited('k'), false);
  });

  it('forgets a key entirely after a full window without failures', () => {
    const c = clock();
    const throttle = new FailureThrottle({ maxFailures: 5, windowMs: 1_000, now: c.now });
    for (let i = 0; i < 5; i++) throttle.recordFailure('k');
    c.advance(1_001);
    assert.equal(throttle.isLimited('k'), false);
    assert.equal(throttle.size, 0);
  });

  it('clears a key on success', () => {
    const c = clock();
    const throttle = new FailureThrottle({ maxFailures: 2, now: c.now });
    throttle.recordFailure('alice');
    throttle.recordFailure('alice');
    assert.equal(throttle.isLimited('alice'), true);
    throttle.recordSuccess('alice');
    assert.equal(throttle.isLimited('alice'), false);
    assert.equal(throttle.size, 0);
  });

  it('tracks at most maxKeys keys, forgetting the least recently failed', () => {
    const c = clock();
    const throttle = new FailureThrottle({ maxFailures: 1, windowMs: 60_000, maxKeys: 3, now: c.now });
    for (const key of ['a', 'b', 'c']) throttle.recordFailure(key);
    throttle.recordFailure('a'); // a is now the most recent
    throttle.recordFailure('d'); // evicts b
    assert.equal(throttle.size, 3);
    assert.equal(throttle.isLimited('b'), false);
    assert.equal(throttle.isLimited('a'), true);
    assert.equal(throttle.isLimited('c'), true);
    assert.equal(throttle.isLimited('d'), true);
    for (let i = 0; i < 1000; i++) throttle.recordFailure(`flood-${i}`);
    assert.equal(throttle.size, 3);
  });

  it('copes with a clock that steps backwards', () => {
    const c = clock();
    const throttle = new FailureThrottle({ maxFailures: 2, now: c.now });
    throttle.recordFailure('k');
    throttle.recordFailure('k');
    c.advance(-5_000);
    assert.equal(throttle.isLimited('k'), true);
  });

  it('refuses nonsensical settings', () => {
    assert.throws(() => new FailureThrottle({ maxFailures: 0 }), RangeError);
    assert.throws(() => new FailureThrottle({ windowMs: 0 }), RangeError);
    assert.throws(() => new FailureThrottle({ maxKeys: 0 }), RangeError);
    assert.throws(() => new FailureThrottle({ maxFailures: Number.NaN }), RangeError);
  });
});
