import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRateLimiter } from './rate-limit.js';

describe('rate limiting', () => {
  it('is off without configuration', () => {
    assert.equal(createRateLimiter(undefined), undefined);
    assert.equal(createRateLimiter({ methods: [] }), undefined);
  });

  it('allows `rate` requests per second, refilling over time', () => {
    let t = 0;
    const allow = createRateLimiter({ rate: 2 }, () => t)!;
    assert.deepEqual([allow('GET'), allow('GET'), allow('GET')], [true, true, false]);
    t = 500;
    assert.deepEqual([allow('GET'), allow('GET')], [true, false]);
  });

  it('limits listed methods separately', () => {
    const t = 0;
    const allow = createRateLimiter({ methods: [{ method: 'put', rate: 1 }] }, () => t)!;
    assert.deepEqual([allow('PUT'), allow('PUT'), allow('GET'), allow('GET')], [true, false, true, true]);
  });
});
