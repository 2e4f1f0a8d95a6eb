import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimited } from './map-limited.js';

describe('mapLimited', () => {
  it('answers results in the items’ order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimited([5, 1, 4, 2, 3, 0], 3, async (n, i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(n);
      inFlight--;
      return `${i}:${n * 10}`;
    });
    assert.deepEqual(out, ['0:50', '1:10', '2:40', '3:20', '4:30', '5:0']);
    assert.equal(most, 3);
  });

  it('starts nothing after the first failure and throws that failure', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapLimited([1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        await sleep(1);
        if (n === 2) throw new Error('two failed');
        if (n === 3) throw new Error('three failed later');
        return n;
      }),
      /two failed/,
    );
    assert.deepEqual(started, [1, 2, 3]);
  });

  it('handles no items', async () => {
    assert.deepEqual(await mapLimited([], 4, async () => 1), []);
  });
});
