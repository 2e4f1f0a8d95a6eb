/**
 * The first user's production `accessControl` (test/fixtures/zot-config.example.json), read from the file
 * itself, as the matrix of zot-behavior.md §3.4 and acceptance scenarios 1, 2, 5–8 and 10.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ANONYMOUS, type Identity } from '../identity.js';
import type { AccessControlConfig } from './access-control-config.js';
import { ACTIONS, type Action } from './actions.js';
import { manifestWriteAction } from './manifest-write.js';
import { refusalOf } from './decision.js';
import { compilePolicy } from './policy.js';

// dist/src/auth/authz → the project root is four levels up; the user's config is a fixture there.
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const CONFIG_PATH = path.resolve(PROJECT_ROOT, 'test/fixtures/zot-config.example.json');

function homelabAccessControl(): AccessControlConfig {
  const config = JSON.parse(readFileSync(CONFIG_PATH, 'utf8')) as {
    http: { accessControl: AccessControlConfig };
  };
  return config.http.accessControl;
}

const accessControl = homelabAccessControl();
const policy = compilePolicy(accessControl, { authenticationConfigured: true });

const roles: Record<string, Identity> = {
  anonymous: ANONYMOUS,
  'authenticated, no group': { username: 'bob', groups: [], method: 'session' },
  'artifact-workloads': { username: 'zot-ci', groups: ['artifact-workloads'], method: 'apikey' },
  admins: { username: 'alice', groups: ['admins'], method: 'session' },
};

const expected: Record<string, Action[]> = {
  anonymous: ['read'],
  'authenticated, no group': ['read'],
  'artifact-workloads': ['read', 'create'],
  admins: ['read', 'create', 'update', 'delete'],
};

const repositories = ['alpine', 'library/alpine', 'docker.io/library/nginx', 'ci/app/builder', 'a'];

describe('the homelab accessControl', () => {
  for (const [role, identity] of Object.entries(roles)) {
    for (const action of ACTIONS) {
      const want = expected[role]?.includes(action) ?? false;
      it(`${role} ${want ? 'may' : 'may not'} ${action}`, () => {
        for (const repository of repositories) {
          assert.equal(policy.can(identity, action, repository), want, repository);
        }
      });
    }
  }

  it('asks the anonymous caller to authenticate and forbids known callers what the policy refuses', () => {
    assert.equal(refusalOf(policy, ANONYMOUS, 'create', 'alpine'), 'authentication-required');
    for (const role of ['authenticated, no group', 'artifact-workloads']) {
      assert.equal(refusalOf(policy, roles[role] ?? ANONYMOUS, 'delete', 'alpine'), 'forbidden', role);
    }
    assert.equal(refusalOf(policy, roles.admins ?? ANONYMOUS, 'delete', 'alpine'), undefined);
  });

  it('lets anonymous callers past authentication, to read', () => {
    assert.equal(policy.mode, 'policy');
    assert.equal(policy.anonymousAllowed(), true);
    assert.equal(policy.anonymousMayRead(), true);
  });

  it('gives a member of both groups the union', () => {
    const both: Identity = { username: 'x', groups: ['artifact-workloads', 'admins'], method: 'session' };
    assert.deepEqual(
      ACTIONS.filter((a) => policy.can(both, a, 'r')),
      ACTIONS,
    );
  });

  it('has no admins by adminPolicy (the admins group gets its rights from the ** entry)', () => {
    assert.equal(policy.isAdmin(roles.admins ?? ANONYMOUS), false);
  });

  describe('tag immutability (scenario 6) with the manifest-write rule', () => {
    const ci = roles['artifact-workloads'] ?? ANONYMOUS;
    const admin = roles.admins ?? ANONYMOUS;
    const old = `sha256:${'a'.repeat(64)}`;
    const next = `sha256:${'b'.repeat(64)}`;

    it('CI may push a new tag and push by digest', () => {
      assert.ok(policy.can(ci, manifestWriteAction({ kind: 'tag', currentDigest: undefined }, next), 'app'));
      assert.ok(policy.can(ci, manifestWriteAction({ kind: 'digest' }, next), 'app'));
    });

    it('CI may re-push the identical manifest to an existing tag', () => {
      assert.ok(policy.can(ci, manifestWriteAction({ kind: 'tag', currentDigest: old }, old), 'app'));
    });

    it('CI may not move an existing tag, latest included; an admin may', () => {
      const move = manifestWriteAction({ kind: 'tag', currentDigest: old }, next);
      assert.equal(policy.can(ci, move, 'app'), false);
      assert.equal(policy.can(admin, move, 'app'), true);
    });
  });

  describe('metrics (scenario 10)', () => {
    it('admits the anonymous scraper because metrics.users contains ""', () => {
      assert.equal(policy.canScrapeMetrics(ANONYMOUS), true);
    });

    it('admits no authenticated caller, admins included (none is listed)', () => {
      for (const role of ['authenticated, no group', 'artifact-workloads', 'admins']) {
        assert.equal(policy.canScrapeMetrics(roles[role] ?? ANONYMOUS), false, role);
      }
    });

    it('demands credentials once "" is removed from metrics.users', () => {
      const withoutAnonymous = compilePolicy(
        { ...accessControl, metrics: { users: [] } },
        { authenticationConfigured: true },
      );
      assert.equal(withoutAnonymous.canScrapeMetrics(ANONYMOUS), false);
    });
  });
});
