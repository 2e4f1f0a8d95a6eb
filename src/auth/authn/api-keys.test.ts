import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  API_KEY_PREFIX,
  apiKeyHashesEqual,
  generateApiKey,
  hashApiKey,
  isApiKeyExpired,
  looksLikeApiKey,
} from './api-keys.js';

describe('generateApiKey', () => {
  it('makes zot-format keys: zak_ and 32 lowercase hex digits, with a UUID id', () => {
    const { key, id } = generateApiKey();
    assert.match(key, /^zak_[0-9a-f]{32}$/);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('returns the hash hashApiKey computes, which is sha256 of the hex part, as zot stores it', () => {
    const { key, hash } = generateApiKey();
    assert.equal(hash, hashApiKey(key));
    assert.equal(hash, createHash('sha256').update(key.slice(4)).digest('hex'));
    assert.match(hash, /^[0-9a-f]{64}$/);
  });

  it('never repeats keys or ids', () => {
    const keys = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const { key, id } = generateApiKey();
      keys.add(key);
      ids.add(id);
    }
    assert.equal(keys.size, 1000);
    assert.equal(ids.size, 1000);
  });
});

describe('hashApiKey', () => {
  it('matches a known vector', () => {
    const hex = '0123456789abcdef0123456789abcdef';
    assert.equal(hashApiKey(`zak_${hex}`), createHash('sha256').update(hex).digest('hex'));
  });

  it('is undefined for anything that is not zak_ + 32 lowercase hex', () => {
    for (const bad of [
      '',
      'zak_',
      'password',
      '0123456789abcdef0123456789abcdef',
      'zak_0123456789abcdef0123456789abcde',
      'zak_0123456789abcdef0123456789abcdef0',
      'zak_0123456789ABCDEF0123456789abcdef',
      'zak_0123456789abcdef0123456789abcdeg',
      'ZAK_0123456789abcdef0123456789abcdef',
      ' zak_0123456789abcdef0123456789abcdef',
      'zak_0123456789abcdef0123456789abcdef\n',
    ]) {
      assert.equal(hashApiKey(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('looksLikeApiKey', () => {
  it('goes by the prefix, so malformed keys are refused as keys rather than tried as passwords', () => {
    assert.equal(API_KEY_PREFIX, 'zak_');
    assert.equal(looksLikeApiKey('zak_whatever'), true);
    assert.equal(looksLikeApiKey('hunter2'), false);
    assert.equal(looksLikeApiKey('ZAK_0123'), false);
  });
});

describe('apiKeyHashesEqual', () => {
  const a = 'a'.repeat(64);
  const b = `${'a'.repeat(63)}b`;
  it('compares well-formed hashes', () => {
    assert.equal(apiKeyHashesEqual(a, a), true);
    assert.equal(apiKeyHashesEqual(a, b), false);
  });

  it('is false for anything that is not a 64-hex hash, rather than throwing', () => {
    assert.equal(apiKeyHashesEqual(a, 'a'.repeat(62)), false);
    assert.equal(apiKeyHashesEqual('', ''), false);
    assert.equal(apiKeyHashesEqual('A'.repeat(64), 'A'.repeat(64)), false);
  });
});

describe('isApiKeyExpired', () => {
  const expiry = new Date('2026-09-20T23:59:59.999Z');
  it('never expires a key without an expiry', () => {
    assert.equal(isApiKeyExpired(undefined, new Date('9999-01-01T00:00:00Z')), false);
  });

  it('keeps a key valid up to and including its expiry instant', () => {
    assert.equal(isApiKeyExpired(expiry, new Date('2026-09-20T23:59:59.999Z')), false);
    assert.equal(isApiKeyExpired(expiry, new Date('2026-09-21T00:00:00.000Z')), true);
  });
});
