import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identityFromClaims } from './claims.js';

const mapping = { username: 'preferred_username', groups: 'groups' };

describe('OIDC claims to a Berth user', () => {
  it('takes the user name from the mapped claim, UserInfo first', () => {
    const out = identityFromClaims(
      { sub: 'u1', preferred_username: 'zot-ci' },
      { sub: 'u1', preferred_username: 'other' },
      mapping,
    );
    assert.deepEqual(out, { ok: true, username: 'zot-ci', groups: [] });
  });
  it('falls back to the ID token, then to email (as zot)', () => {
    assert.equal(
      (
        identityFromClaims({ sub: 'u1' }, { sub: 'u1', preferred_username: 'alice' }, mapping) as {
          username: string;
        }
      ).username,
      'alice',
    );
    assert.equal(
      (
        identityFromClaims({ sub: 'u1', email: 'a@example.test' }, { sub: 'u1' }, mapping) as {
          username: string;
        }
      ).username,
      'a@example.test',
    );
    assert.equal(
      (
        identityFromClaims(undefined, { sub: 'u1', preferred_username: 'bob' }, mapping) as {
          username: string;
        }
      ).username,
      'bob',
    );
  });
  it('fails without any usable user name claim', () => {
    const out = identityFromClaims({ sub: 'u1', preferred_username: '  ' }, { sub: 'u1' }, mapping);
    assert.equal(out.ok, false);
    assert.match((out as { problem: string }).problem, /preferred_username/);
  });
  it('unions groups from both sources, stringifies scalars, sorts and de-duplicates', () => {
    const out = identityFromClaims(
      { preferred_username: 'x', groups: ['admins', 'b', 7] },
      { groups: ['admins', 'a', { nested: true }, true] },
      mapping,
    );
    assert.deepEqual((out as { groups: string[] }).groups, ['7', 'a', 'admins', 'b', 'true'].sort());
  });
  it('reads a single-string groups claim and a configured claim name', () => {
    assert.deepEqual(
      (
        identityFromClaims(
          { preferred_username: 'x', roles: 'ops' },
          {},
          { username: 'preferred_username', groups: 'roles' },
        ) as { groups: string[] }
      ).groups,
      ['ops'],
    );
  });
});
