import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads Go durations as milliseconds', () => {
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('300s'), 300_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('720h'), 720 * 3_600_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('.5s'), 500);
    assert.equal(parseDuration('1.s'), 1000);
    assert.equal(parseDuration('1500us'), 1.5);
    assert.equal(parseDuration('2µs'), 0.002);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('-1m'), -60_000);
    assert.equal(parseDuration('+1m'), 60_000);
  });

  it('refuses what Go refuses, saying why', () => {
    assert.throws(() => parseDuration('1d'), /unknown unit "d".*no day unit, write "24h"/);
    assert.throws(() => parseDuration('10'), /missing unit after "10"/);
    assert.throws(() => parseDuration(''), /invalid duration ""/);
    assert.throws(() => parseDuration('h'), /expected a number/);
    assert.throws(() => parseDuration('1hour'), /unknown unit "hour"/);
    assert.throws(() => parseDuration('1h 30m'), /unknown unit "h "/);
    assert.throws(() => parseDuration('.s'), /expected a number/);
  });
});

describe('formatDuration', () => {
  it('writes milliseconds back in Go syntax', () => {
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(-60_000), '-1m');
  });
});
