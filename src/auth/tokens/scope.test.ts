import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionsOfScopeAction,
  grantedScopeActions,
  parseScope,
  parseScopes,
  scopeActionsFor,
} from './scope.js';

describe('registry token scopes', () => {
  it('parses repository scopes, names with slashes and colons, and resource classes', () => {
    assert.deepEqual(parseScope('repository:team/app:pull,push'), {
      type: 'repository',
      name: 'team/app',
      actions: ['pull', 'push'],
    });
    assert.deepEqual(parseScope('repository:host:5000/app:pull'), {
      type: 'repository',
      name: 'host:5000/app',
      actions: ['pull'],
    });
    assert.deepEqual(parseScope('repository(plugin):app:pull'), {
      type: 'repository',
      name: 'app',
      actions: ['pull'],
    });
    assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  });

  it('refuses malformed scopes', () => {
    for (const bad of [
      '',
      'repository',
      'repository:app',
      ':app:pull',
      'repository::pull',
      'repository:app:',
      'repo sitory:app:pull',
    ]) {
      assert.equal(parseScope(bad), undefined, bad);
    }
  });

  it('splits space-separated scopes, skips malformed ones and keeps at most the limit', () => {
    assert.deepEqual(
      parseScopes(['repository:a:pull repository:b:push', 'junk', 'repository:c:delete']).map((s) => s.name),
      ['a', 'b', 'c'],
    );
    assert.equal(
      parseScopes([Array.from({ length: 80 }, (_, i) => `repository:r${i}:pull`).join(' ')]).length,
      50,
    );
  });

  it('maps Docker actions to Berth actions and back', () => {
    assert.deepEqual(actionsOfScopeAction('pull'), ['read']);
    assert.deepEqual(actionsOfScopeAction('push'), ['create', 'update']);
    assert.deepEqual(actionsOfScopeAction('delete'), ['delete']);
    assert.deepEqual(actionsOfScopeAction('*'), ['read', 'create', 'update', 'delete']);
    assert.deepEqual(actionsOfScopeAction('admin'), []);
    assert.deepEqual(scopeActionsFor('read'), ['pull']);
    assert.deepEqual(scopeActionsFor('create'), ['pull', 'push']);
    assert.deepEqual(scopeActionsFor('update'), ['pull', 'push']);
    assert.deepEqual(scopeActionsFor('delete'), ['delete']);
  });

  it('grants only requested actions the caller may perform; push needs create or update', () => {
    const createOnly = (a: string) => a === 'read' || a === 'create';
    assert.deepEqual(grantedScopeActions(['pull', 'push', 'delete'], createOnly), ['pull', 'push']);
    assert.deepEqual(
      grantedScopeActions(['push'], (a) => a === 'update'),
      ['push'],
    );
    assert.deepEqual(
      grantedScopeActions(['*'], () => true),
      ['pull', 'push', 'delete'],
    );
    assert.deepEqual(
      grantedScopeActions(['pull'], () => false),
      [],
    );
    assert.deepEqual(
      grantedScopeActions(['pull', 'unknown'], () => true),
      ['pull'],
    );
  });
});
