import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';

import { BCRYPT_BUSY, BcryptPool } from './bcrypt-pool.js';

describe('BcryptPool', () => {
  const pool = new BcryptPool({ threads: 1, maxQueued: 2 });
  after(() => pool.close());
  const hash = bcrypt.hashSync('right', 6);

  it('answers like bcrypt, on its thread', async () => {
    assert.equal(await pool.compare('right', hash), true);
    assert.equal(await pool.compare('wrong', hash), false);
    assert.equal(await pool.compare('right', 'not a hash'), false);
  });

  it('refuses checks past its queue as busy instead of queueing them', async () => {
    // One running on the thread, two waiting, the rest refused at once.
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => pool.compare('right', hash)));
    assert.deepEqual(outcomes, [true, true, true, ...Array.from({ length: 7 }, () => BCRYPT_BUSY)]);
    assert.equal(await pool.compare('right', hash), true);
  });
});
