import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf, parseDigest, tryParseDigest } from './digest.js';
import { RegistryError } from './errors.js';

describe('digests', () => {
  it('computes sha256 and sha512 digests in canonical form', () => {
    assert.equal(
      digestOf('hello'),
      'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
    assert.match(digestOf('hello', 'sha512'), /^sha512:[a-f0-9]{128}$/);
  });

  it('parses valid digests', () => {
    const d = parseDigest(digestOf('x'));
    assert.equal(d.algorithm, 'sha256');
    assert.equal(d.hex.length, 64);
  });

  for (const [bad, why] of [
    ['sha256:abc', 'short'],
    ['sha256:' + 'A'.repeat(64), 'upper case'],
    ['md5:' + 'a'.repeat(32), 'unsupported algorithm'],
    ['nocolon', 'no algorithm'],
    ['sha512:' + 'a'.repeat(64), 'wrong length for sha512'],
    ['', 'empty'],
  ] as const) {
    it(`refuses ${why} with DIGEST_INVALID`, () => {
      assert.equal(tryParseDigest(bad), undefined);
      assert.throws(
        () => parseDigest(bad),
        (err: unknown) => err instanceof RegistryError && err.code === 'DIGEST_INVALID',
      );
    });
  }
});
