import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiresSoon, parseExpiry } from './service-accounts.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const DAY = 86_400_000;

describe('service-account key expiry', () => {
  it('reads relative durations and RFC 3339 times', () => {
    assert.equal(parseExpiry('90d', NOW).getTime(), NOW.getTime() + 90 * DAY);
    assert.equal(parseExpiry('12w', NOW).getTime(), NOW.getTime() + 84 * DAY);
    assert.equal(parseExpiry('36h', NOW).getTime(), NOW.getTime() + 36 * 3_600_000);
    assert.equal(parseExpiry('2027-03-01T00:00:00Z', NOW).toISOString(), '2027-03-01T00:00:00.000Z');
  });

  it('refuses nonsense and the past', () => {
    assert.throws(() => parseExpiry('soon', NOW), /90d/);
    assert.throws(() => parseExpiry('0d', NOW), /past/);
    assert.throws(() => parseExpiry('2020-01-01T00:00:00Z', NOW), /past/);
  });

  it('flags keys expiring within a week, not expired or later ones', () => {
    assert.equal(expiresSoon(new Date(NOW.getTime() + 3 * DAY), NOW), true);
    assert.equal(expiresSoon(new Date(NOW.getTime() + 8 * DAY), NOW), false);
    assert.equal(expiresSoon(new Date(NOW.getTime() - DAY), NOW), false);
    assert.equal(expiresSoon(undefined, NOW), false);
  });
});
