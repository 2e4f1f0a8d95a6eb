import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANONYMOUS, isAnonymous, type Identity } from './identity.js';

describe('identity', () => {
  it('names the anonymous caller "" with no groups, as zot does', () => {
    assert.equal(ANONYMOUS.username, '');
    assert.deepEqual(ANONYMOUS.groups, []);
    assert.equal(ANONYMOUS.method, 'anonymous');
    assert.ok(Object.isFrozen(ANONYMOUS));
  });

  it('treats a named, authenticated caller as not anonymous', () => {
    assert.equal(isAnonymous({ username: 'bob', groups: [], method: 'htpasswd' }), false);
  });

  it('treats an unnamed identity as anonymous whatever its method claims', () => {
    const unnamed: Identity = { username: '', groups: ['admins'], method: 'apikey' };
    assert.equal(isAnonymous(unnamed), true);
    assert.equal(isAnonymous(ANONYMOUS), true);
  });
});
