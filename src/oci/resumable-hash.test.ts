import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resumableHasher } from './resumable-hash.js';

describe('resumable hasher', () => {
  for (const algorithm of ['sha256', 'sha512'] as const) {
    it(`${algorithm}: a state saved mid-way and loaded into a fresh hasher gives node:crypto's digest`, async () => {
      const first = Buffer.from('the first chunk of an upload, '.repeat(1000));
      const second = Buffer.from('and the second, in another request');
      const h1 = await resumableHasher(algorithm);
      h1.update(first);
      const state = h1.save();
      // A copy of the bytes, as a database would hand them back.
      const h2 = await resumableHasher(algorithm, new Uint8Array(Buffer.from(state)));
      h2.update(second);
      const expected = createHash(algorithm).update(first).update(second).digest('hex');
      assert.equal(h2.digestHex(), expected);
      assert.equal((await resumableHasher(algorithm)).digestHex(), createHash(algorithm).digest('hex'));
    });
  }
});
