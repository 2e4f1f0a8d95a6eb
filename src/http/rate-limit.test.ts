import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from '../meta/sqlite/store.js';
import { createRateLimiter } from './rate-limit.js';

describe('rate limiting (buckets in a real SQLite store)', () => {
  const { meta } = openSqliteStore(':memory:');
  after(() => meta.close());
  const allowed = async (limiter: (m: string) => Promise<number>, method: string): Promise<boolean> =>
    (await limiter(method)) === 0;

  it('is off without configuration', () => {
    assert.equal(createRateLimiter(undefined, meta.throttles), undefined);
    assert.equal(createRateLimiter({ methods: [] }, meta.throttles), undefined);
  });

  it('allows `rate` requests per second, refilling over time, across two processes', async () => {
    let t = 1_000_000;
    const a = createRateLimiter({ rate: 2 }, meta.throttles, () => t)!;
    const b = createRateLimiter({ rate: 2 }, meta.throttles, () => t)!;
    assert.deepEqual(
      [await allowed(a, 'GET'), await allowed(b, 'GET'), await allowed(a, 'GET')],
      [true, true, false],
    );
    assert.equal(await allowed(b, 'HEAD'), false, 'the other process sees the same bucket');
    t += 501;
    assert.deepEqual([await allowed(b, 'GET'), await allowed(a, 'GET')], [true, false]);
  });

  it('limits listed methods separately', async () => {
    const t = 2_000_000;
    const allow = createRateLimiter({ methods: [{ method: 'put', rate: 1 }] }, meta.throttles, () => t)!;
    assert.deepEqual(
      [
        await allowed(allow, 'PUT'),
        await allowed(allow, 'PUT'),
        await allowed(allow, 'GET'),
        await allowed(allow, 'GET'),
      ],
      [true, false, true, true],
    );
  });
});
