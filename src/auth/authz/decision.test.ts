import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS, type Identity, type TokenAccess } from '../identity.js';
import type { Action } from './actions.js';
import { listable, permits, refusalOf } from './decision.js';
import { compilePolicy } from './policy.js';

const AUTH = { authenticationConfigured: true };

/** The homelab shape: anonymous and authenticated read, CI creates, admins do everything. */
const policy = compilePolicy(
  {
    repositories: {
      '**': {
        policies: [
          { groups: ['ci'], actions: ['read', 'create'] },
          { groups: ['admins'], actions: ['read', 'create', 'update', 'delete'] },
        ],
        anonymousPolicy: ['read'],
        defaultPolicy: ['read'],
      },
      'private/**': { policies: [{ users: ['alice'], actions: ['read', 'create', 'update', 'delete'] }] },
    },
  },
  AUTH,
);

function token(repositories: Record<string, Action[]>, catalog = false): TokenAccess {
  return {
    repositories: new Map(Object.entries(repositories).map(([name, actions]) => [name, new Set(actions)])),
    catalog,
  };
}

const alice: Identity = { username: 'alice', groups: ['admins'], method: 'htpasswd' };
const ci: Identity = { username: 'ci', groups: ['ci'], method: 'apikey' };
const bob: Identity = { username: 'bob', groups: [], method: 'htpasswd' };

describe('refusalOf', () => {
  it('allows what the policy allows when no token narrows it', () => {
    assert.equal(refusalOf(policy, alice, 'delete', 'team/app'), undefined);
    assert.equal(refusalOf(policy, ANONYMOUS, 'read', 'team/app'), undefined);
  });

  it('asks the anonymous caller to authenticate, with or without an anonymous token', () => {
    assert.equal(refusalOf(policy, ANONYMOUS, 'create', 'team/app'), 'authentication-required');
    const anonymousToken: Identity = { ...ANONYMOUS, tokenAccess: token({ 'team/app': ['read'] }) };
    assert.equal(refusalOf(policy, anonymousToken, 'create', 'team/app'), 'authentication-required');
  });

  it('forbids a known caller what the policy refuses, whatever its token says', () => {
    assert.equal(refusalOf(policy, ci, 'delete', 'team/app'), 'forbidden');
    assert.equal(refusalOf(policy, bob, 'read', 'private/x'), 'forbidden');
    const widened: Identity = {
      ...ci,
      tokenAccess: token({ 'team/app': ['read', 'create', 'update', 'delete'] }),
    };
    assert.equal(refusalOf(policy, widened, 'delete', 'team/app'), 'forbidden');
  });

  it('names a missing scope when the policy would allow (go-containerregistry deletes with a push token)', () => {
    const pushToken: Identity = {
      ...alice,
      tokenAccess: token({ 'team/app': ['read', 'create', 'update'] }),
    };
    assert.equal(refusalOf(policy, pushToken, 'delete', 'team/app'), 'insufficient-scope');
    assert.equal(refusalOf(policy, pushToken, 'create', 'other/app'), 'insufficient-scope');
    assert.equal(refusalOf(policy, pushToken, 'create', 'team/app'), undefined);
    assert.equal(permits(policy, pushToken, 'delete', 'team/app'), false);
    const deleteToken: Identity = { ...alice, tokenAccess: token({ 'team/app': ['delete'] }) };
    assert.equal(permits(policy, deleteToken, 'delete', 'team/app'), true);
  });
});

describe('listable', () => {
  it('follows the caller policy, not its token scope (podman search after podman login)', () => {
    const scopeless: Identity = { ...alice, tokenAccess: token({}) };
    assert.equal(listable(policy, scopeless, 'private/x'), true);
    assert.equal(listable(policy, scopeless, 'team/app'), true);
    assert.equal(permits(policy, scopeless, 'read', 'team/app'), false, 'reading still needs the scope');
  });

  it('hides what the caller may not read', () => {
    assert.equal(listable(policy, bob, 'private/x'), false);
    assert.equal(listable(policy, ANONYMOUS, 'private/x'), false);
  });

  it('never shows a known caller less than the anonymous caller sees', () => {
    // A pattern readable by anonymous callers only: zot gives authenticated callers nothing there.
    const anonymousOnly = compilePolicy({ repositories: { 'pub/**': { anonymousPolicy: ['read'] } } }, AUTH);
    assert.equal(anonymousOnly.can(bob, 'read', 'pub/x'), false);
    assert.equal(listable(anonymousOnly, bob, 'pub/x'), true);
    assert.equal(listable(anonymousOnly, { ...bob, tokenAccess: token({}) }, 'pub/x'), true);
    assert.equal(listable(anonymousOnly, bob, 'other'), false);
  });
});
