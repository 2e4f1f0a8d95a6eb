import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruMap } from './lru.js';

describe('LruMap', () => {
  it('evicts the least recently used entry, reads counting as use', () => {
    const lru = new LruMap<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.get('a'), 1); // a is now newer than b
    lru.set('c', 3);
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.get('c'), 3);
  });

  it('keeps the order right when the newest key is read again, deleted or cleared', () => {
    const lru = new LruMap<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.get('b'), 2);
    assert.equal(lru.get('b'), 2);
    lru.set('c', 3); // a is the oldest
    assert.equal(lru.get('a'), undefined);
    lru.delete('c');
    lru.set('d', 4);
    assert.equal(lru.get('b'), 2);
    lru.set('e', 5); // d is the oldest now
    assert.equal(lru.get('d'), undefined);
    lru.clear();
    assert.equal(lru.get('b'), undefined);
    lru.set('f', 6);
    assert.equal(lru.get('f'), 6);
  });

  it('with capacity 1 holds only the last entry set', () => {
    const lru = new LruMap<string, number>(1);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.get('a'), undefined);
    assert.equal(lru.get('b'), 2);
  });
});
