import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { manifestWriteAction, manifestWriteActions } from './manifest-write.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('manifestWriteAction', () => {
  it('needs create to push a new tag', () => {
    assert.equal(manifestWriteAction({ kind: 'tag', currentDigest: undefined }, A), 'create');
  });

  it('needs create to push by digest, stored or not', () => {
    assert.equal(manifestWriteAction({ kind: 'digest' }, A), 'create');
  });

  it('needs update to move an existing tag to a different digest', () => {
    assert.equal(manifestWriteAction({ kind: 'tag', currentDigest: A }, B), 'update');
  });

  it('needs only create to re-push the identical digest to an existing tag (Berth, not zot)', () => {
    assert.equal(manifestWriteAction({ kind: 'tag', currentDigest: A }, A), 'create');
  });
});

describe('manifestWriteActions', () => {
  it('always includes create, for the content itself', () => {
    assert.deepEqual([...manifestWriteActions([], A)], ['create']);
    assert.deepEqual([...manifestWriteActions([{ kind: 'digest' }], A)], ['create']);
  });

  it('adds update when any named tag would move', () => {
    const actions = manifestWriteActions(
      [
        { kind: 'tag', currentDigest: undefined },
        { kind: 'tag', currentDigest: A },
        { kind: 'tag', currentDigest: B },
      ],
      A,
    );
    assert.deepEqual([...actions].sort(), ['create', 'update']);
  });

  it('stays create-only when every existing tag already points at the digest', () => {
    const actions = manifestWriteActions(
      [
        { kind: 'tag', currentDigest: A },
        { kind: 'tag', currentDigest: undefined },
      ],
      A,
    );
    assert.deepEqual([...actions], ['create']);
  });
});
