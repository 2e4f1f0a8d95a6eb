import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { isUploadId, UploadIdSigner } from './upload-ids.js';

const signer = new UploadIdSigner(new Uint8Array(randomBytes(32)));

describe('upload ids', () => {
  it('carry their issue time and algorithm, signed for one repository', () => {
    const id = signer.issue('team/app', 'sha512', 1_700_000_000_123);
    assert.match(id, /^[0-9a-f]{12}-[0-9a-f]{32}-sha512-[0-9a-f]{32}$/);
    assert.ok(isUploadId(id));
    assert.deepEqual(signer.read('team/app', id), {
      issuedAt: 1_700_000_000_123,
      algorithm: 'sha512',
    });
    assert.notEqual(signer.issue('team/app', 'sha512', 1), signer.issue('team/app', 'sha512', 1));
  });

  it('are refused for another repository, under another key, or changed in any part', () => {
    const id = signer.issue('team/app', 'sha256', Date.now());
    assert.equal(signer.read('team/other', id), undefined);
    assert.equal(new UploadIdSigner(new Uint8Array(randomBytes(32))).read('team/app', id), undefined);
    const parts = id.split('-');
    const flip = (s: string): string => (s[0] === '0' ? '1' : '0') + s.slice(1);
    for (let i = 0; i < parts.length; i++) {
      if (i === 2) continue; // the algorithm: changed below
      const changed = parts.map((p, j) => (j === i ? flip(p) : p)).join('-');
      assert.equal(signer.read('team/app', changed), undefined, `part ${i} changed`);
    }
    assert.equal(signer.read('team/app', id.replace('-sha256-', '-sha512-')), undefined);
    assert.equal(signer.read('team/app', id.toUpperCase()), undefined);
    assert.equal(signer.read('team/app', `${id}0`), undefined);
  });

  it('of the legacy form (UUIDs) are upload ids but carry nothing', () => {
    const legacy = randomUUID();
    assert.ok(isUploadId(legacy));
    assert.equal(signer.read('r', legacy), undefined);
    assert.equal(isUploadId('tmp-123'), false);
    assert.equal(isUploadId(''), false);
  });
});
