import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from '../authz/policy.js';
import { ANONYMOUS, type Identity } from '../identity.js';
import { grantScopes } from './grant.js';
import { parseScopes } from './scope.js';

const policy = compilePolicy(
  {
    repositories: {
      '**': {
        policies: [
          { groups: ['artifact-workloads'], actions: ['read', 'create'] },
          { groups: ['admins'], actions: ['read', 'create', 'update', 'delete'] },
        ],
        anonymousPolicy: ['read'],
        defaultPolicy: ['read'],
      },
    },
  },
  { authenticationConfigured: true },
);
const may = (who: Identity, action: Parameters<typeof policy.can>[1], repo: string) =>
  policy.can(who, action, repo);
const valid = (name: string) => /^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/.test(name);
const ci: Identity = { username: 'zot-ci', groups: ['artifact-workloads'], method: 'apikey' };
const admin: Identity = { username: 'alice', groups: ['admins'], method: 'apikey' };
const all = parseScopes(['repository:app:pull,push,delete']);

describe('token grants under the user config', () => {
  it('gives the anonymous caller pull only', () => {
    assert.deepEqual(grantScopes(ANONYMOUS, all, may, valid), [
      { type: 'repository', name: 'app', actions: ['pull'] },
    ]);
  });
  it('gives CI pull and push, never delete', () => {
    assert.deepEqual(grantScopes(ci, all, may, valid), [
      { type: 'repository', name: 'app', actions: ['pull', 'push'] },
    ]);
  });
  it('gives admins everything they ask for', () => {
    assert.deepEqual(grantScopes(admin, all, may, valid), [
      { type: 'repository', name: 'app', actions: ['pull', 'push', 'delete'] },
    ]);
  });
  it('merges repeated scopes, drops invalid names and other resource types, keeps the catalog', () => {
    const requested = parseScopes([
      'repository:app:pull repository:app:push',
      'repository:Bad_Name:pull',
      'registry:catalog:*',
      'plugin:x:pull',
    ]);
    assert.deepEqual(grantScopes(ci, requested, may, valid), [
      { type: 'repository', name: 'app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });
  it('leaves out repositories with nothing granted', () => {
    const closed = compilePolicy({ repositories: {} }, { authenticationConfigured: true });
    assert.deepEqual(
      grantScopes(ci, all, (w, a, r) => closed.can(w, a, r), valid),
      [],
    );
  });
});
