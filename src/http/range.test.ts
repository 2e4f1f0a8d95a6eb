import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseContentRange, parseRange } from './range.js';

describe('Range requests', () => {
  it('serves the whole body without a header or for multi-range requests', () => {
    assert.deepEqual(parseRange(undefined, 10), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=0-1,3-4', 10), { kind: 'full' });
  });
  it('parses start-end, open-ended and suffix ranges', () => {
    assert.deepEqual(parseRange('bytes=2-5', 10), { kind: 'partial', start: 2, end: 5 });
    assert.deepEqual(parseRange('bytes=7-', 10), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(parseRange('bytes=-3', 10), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(parseRange('bytes=5-100', 10), { kind: 'partial', start: 5, end: 9 });
  });
  it('reports unsatisfiable ranges', () => {
    assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=5-2', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
  });
});

describe('upload Content-Range', () => {
  it('accepts the spec form and common variants', () => {
    assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('bytes 0-99/100'), { start: 0, end: 99 });
    assert.equal(parseContentRange(undefined), undefined);
    assert.equal(parseContentRange('abc'), 'invalid');
  });
});
