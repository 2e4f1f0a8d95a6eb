import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANONYMOUS, type Identity } from '../identity.js';
import type { AccessControlConfig } from './access-control-config.js';
import { ACTIONS, type Action } from './actions.js';
import { refusalOf } from './decision.js';
import { compilePolicy, type Policy } from './policy.js';

const AUTH = { authenticationConfigured: true };
const NO_AUTH = { authenticationConfigured: false };

function user(username: string, groups: string[] = []): Identity {
  return { username, groups, method: 'htpasswd' };
}

function allowed(policy: Policy, identity: Identity, repository: string): Action[] {
  return ACTIONS.filter((action) => policy.can(identity, action, repository));
}

describe('compilePolicy without accessControl', () => {
  it('open mode (no authentication either): everybody may do everything', () => {
    const policy = compilePolicy(undefined, NO_AUTH);
    assert.equal(policy.mode, 'open');
    assert.equal(policy.isOpen(), true);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'any/repo'), ACTIONS);
    assert.equal(policy.canScrapeMetrics(ANONYMOUS), true);
    assert.equal(policy.anonymousAllowed(), true);
    assert.equal(policy.anonymousMayRead(), true);
    assert.equal(policy.isAdmin(ANONYMOUS), false);
  });

  it('authenticated mode: every authenticated caller may do everything, the anonymous caller nothing', () => {
    const policy = compilePolicy(null, AUTH);
    assert.equal(policy.mode, 'authenticated');
    assert.equal(policy.isOpen(), false);
    assert.deepEqual(allowed(policy, user('bob'), 'any/repo'), ACTIONS);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'any/repo'), []);
    assert.equal(policy.canScrapeMetrics(user('bob')), true);
    assert.equal(policy.canScrapeMetrics(ANONYMOUS), false);
    assert.equal(policy.anonymousAllowed(), false);
    assert.equal(policy.anonymousMayRead(), false);
  });
});

describe('compilePolicy with accessControl', () => {
  it('is policy mode and never open, even when empty', () => {
    const policy = compilePolicy({}, AUTH);
    assert.equal(policy.mode, 'policy');
    assert.equal(policy.isOpen(), false);
    assert.deepEqual(allowed(policy, user('bob'), 'a'), []);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'a'), []);
    assert.equal(policy.canScrapeMetrics(user('bob')), false);
    assert.equal(policy.canScrapeMetrics(ANONYMOUS), false);
  });

  it('grants defaultPolicy to authenticated callers only and anonymousPolicy to the anonymous caller only', () => {
    const policy = compilePolicy(
      { repositories: { '**': { defaultPolicy: ['read', 'create'], anonymousPolicy: ['read'] } } },
      AUTH,
    );
    assert.deepEqual(allowed(policy, user('bob'), 'x/y'), ['read', 'create']);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'x/y'), ['read']);
  });

  it('does not give the anonymous caller defaultPolicy nor authenticated callers anonymousPolicy', () => {
    const policy = compilePolicy(
      { repositories: { '**': { defaultPolicy: ['create'], anonymousPolicy: ['delete'] } } },
      AUTH,
    );
    assert.deepEqual(allowed(policy, ANONYMOUS, 'r'), ['delete']);
    assert.deepEqual(allowed(policy, user('bob'), 'r'), ['create']);
  });

  it('grants a policy entry to the users it names, case-sensitively', () => {
    const policy = compilePolicy(
      { repositories: { '**': { policies: [{ users: ['bob'], actions: ['read', 'update'] }] } } },
      AUTH,
    );
    assert.deepEqual(allowed(policy, user('bob'), 'r'), ['read', 'update']);
    assert.deepEqual(allowed(policy, user('Bob'), 'r'), []);
    assert.deepEqual(allowed(policy, user('alice'), 'r'), []);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'r'), []);
  });

  it('treats users: [""] as a grant to the anonymous caller and to nobody else', () => {
    const policy = compilePolicy(
      { repositories: { '**': { policies: [{ users: [''], actions: ['read'] }] } } },
      AUTH,
    );
    assert.deepEqual(allowed(policy, ANONYMOUS, 'r'), ['read']);
    assert.deepEqual(allowed(policy, user('bob'), 'r'), []);
    assert.equal(policy.anonymousAllowed(), true);
    assert.equal(policy.anonymousMayRead(), true);
  });

  it('grants a policy entry to callers in any group it names, case-sensitively', () => {
    const policy = compilePolicy(
      { repositories: { '**': { policies: [{ groups: ['ci', 'ops'], actions: ['create'] }] } } },
      AUTH,
    );
    assert.deepEqual(allowed(policy, user('x', ['ops']), 'r'), ['create']);
    assert.deepEqual(allowed(policy, user('x', ['other', 'ci']), 'r'), ['create']);
    assert.deepEqual(allowed(policy, user('x', ['CI']), 'r'), []);
    assert.deepEqual(allowed(policy, user('x'), 'r'), []);
  });

  it('adds entries with both users and groups up as either', () => {
    const policy = compilePolicy(
      { repositories: { '**': { policies: [{ users: ['bob'], groups: ['ci'], actions: ['delete'] }] } } },
      AUTH,
    );
    assert.deepEqual(allowed(policy, user('bob'), 'r'), ['delete']);
    assert.deepEqual(allowed(policy, user('eve', ['ci']), 'r'), ['delete']);
    assert.deepEqual(allowed(policy, user('eve'), 'r'), []);
  });

  it('ignores action strings it does not know ("write" grants nothing)', () => {
    const policy = compilePolicy(
      {
        repositories: {
          '**': { policies: [{ users: ['bob'], actions: ['write', 'READ'] }], defaultPolicy: ['pull'] },
        },
      },
      AUTH,
    );
    assert.deepEqual(allowed(policy, user('bob'), 'r'), []);
  });

  it('tolerates null and missing lists', () => {
    const config: AccessControlConfig = {
      repositories: {
        '**': { policies: [{ users: null, groups: null, actions: null }], defaultPolicy: null },
      },
      adminPolicy: null,
      groups: null,
      metrics: null,
    };
    const policy = compilePolicy(config, AUTH);
    assert.deepEqual(allowed(policy, user('bob'), 'r'), []);
  });

  it('never hands an unnamed identity the rights of an authenticated user', () => {
    const policy = compilePolicy(
      { repositories: { '**': { defaultPolicy: ['read', 'create', 'update', 'delete'] } } },
      AUTH,
    );
    const unnamed: Identity = { username: '', groups: [], method: 'session' };
    assert.deepEqual(allowed(policy, unnamed, 'r'), []);
    assert.equal(refusalOf(policy, unnamed, 'read', 'r'), 'authentication-required');
  });
});

describe('only the longest matching pattern applies', () => {
  const config: AccessControlConfig = {
    repositories: {
      '**': { defaultPolicy: ['read', 'create', 'update', 'delete'], anonymousPolicy: ['read'] },
      'secret/**': { policies: [{ groups: ['spies'], actions: ['read'] }] },
      'secret/open/*': { anonymousPolicy: ['read'] },
    },
  };
  const policy = compilePolicy(config, AUTH);

  it('uses the general pattern where no longer one matches', () => {
    assert.deepEqual(allowed(policy, user('bob'), 'public/app'), ACTIONS);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'public/app'), ['read']);
  });

  it('does not merge in shorter patterns: secret/** takes everything ** gave away', () => {
    assert.deepEqual(allowed(policy, user('bob'), 'secret/plans'), []);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'secret/plans'), []);
    assert.deepEqual(allowed(policy, user('james', ['spies']), 'secret/plans'), ['read']);
  });

  it('lets an even longer pattern re-open part of the tree, again without merging', () => {
    assert.deepEqual(allowed(policy, ANONYMOUS, 'secret/open/menu'), ['read']);
    assert.deepEqual(allowed(policy, user('james', ['spies']), 'secret/open/menu'), []);
    // One level deeper, secret/open/* no longer matches and secret/** applies again.
    assert.deepEqual(allowed(policy, ANONYMOUS, 'secret/open/menu/x'), []);
  });

  it('applies secret/** to the repository named secret itself', () => {
    assert.deepEqual(allowed(policy, user('bob'), 'secret'), []);
  });

  it('counts pattern length in characters, not specificity', () => {
    const p = compilePolicy(
      {
        repositories: {
          'team/app': { defaultPolicy: ['read'] },
          'te*/**/a*p': { defaultPolicy: ['delete'] },
        },
      },
      AUTH,
    );
    assert.deepEqual(allowed(p, user('bob'), 'team/app'), ['delete']);
  });

  it('closes repositories that no pattern matches', () => {
    const p = compilePolicy({ repositories: { 'team/**': { defaultPolicy: ['read'] } } }, AUTH);
    assert.deepEqual(allowed(p, user('bob'), 'other'), []);
    assert.deepEqual(allowed(p, user('bob'), 'team/x'), ['read']);
  });
});

describe('ties between equally long patterns', () => {
  const grants = {
    'a/?': { defaultPolicy: ['update'] },
    '?/b': { defaultPolicy: ['delete'] },
  };

  it('go to the pattern that sorts first, whatever the order of the keys', () => {
    const forward = compilePolicy({ repositories: grants }, AUTH);
    const reversed = compilePolicy(
      { repositories: Object.fromEntries(Object.entries(grants).reverse()) },
      AUTH,
    );
    for (const policy of [forward, reversed]) {
      // '?' (0x3f) sorts before 'a' (0x61).
      assert.deepEqual(allowed(policy, user('bob'), 'a/b'), ['delete']);
      // Only one of them matches these.
      assert.deepEqual(allowed(policy, user('bob'), 'a/c'), ['update']);
      assert.deepEqual(allowed(policy, user('bob'), 'c/b'), ['delete']);
    }
  });
});

describe('pattern case folding', () => {
  it('lower-cases patterns like zot’s loader, so Team/** governs team/x', () => {
    const policy = compilePolicy({ repositories: { 'Team/**': { defaultPolicy: ['read'] } } }, AUTH);
    assert.deepEqual(allowed(policy, user('bob'), 'team/x'), ['read']);
  });

  it('keeps the key that sorts first when two keys fold to the same pattern', () => {
    const policy = compilePolicy(
      { repositories: { 'a/**': { defaultPolicy: ['delete'] }, 'A/**': { defaultPolicy: ['read'] } } },
      AUTH,
    );
    assert.deepEqual(allowed(policy, user('bob'), 'a/x'), ['read']);
  });

  it('refuses a pattern that is not a valid glob', () => {
    assert.throws(() => compilePolicy({ repositories: { 'a/[': {} } }, AUTH), TypeError);
  });
});

describe('adminPolicy', () => {
  const config: AccessControlConfig = {
    repositories: {
      '**': { defaultPolicy: ['read'] },
      'locked/**': {},
    },
    adminPolicy: { users: ['root'], groups: ['admins'], actions: ['read', 'create', 'update', 'delete'] },
  };
  const policy = compilePolicy(config, AUTH);

  it('grants its actions where the repository policy grants nothing', () => {
    assert.deepEqual(allowed(policy, user('root'), 'locked/x'), ACTIONS);
    assert.deepEqual(allowed(policy, user('alice', ['admins']), 'locked/x'), ACTIONS);
    assert.deepEqual(allowed(policy, user('bob'), 'locked/x'), []);
  });

  it('adds to what the repository policy grants', () => {
    assert.deepEqual(allowed(policy, user('root'), 'public'), ACTIONS);
  });

  it('reaches repositories no pattern matches', () => {
    const p = compilePolicy(
      { repositories: {}, adminPolicy: { users: ['root'], actions: ['delete'] } },
      AUTH,
    );
    assert.deepEqual(allowed(p, user('root'), 'anything'), ['delete']);
  });

  it('grants only the actions it lists', () => {
    const p = compilePolicy({ adminPolicy: { users: ['root'], actions: ['read'] } }, AUTH);
    assert.deepEqual(allowed(p, user('root'), 'r'), ['read']);
  });

  it('reports who is an admin', () => {
    assert.equal(policy.isAdmin(user('root')), true);
    assert.equal(policy.isAdmin(user('alice', ['admins'])), true);
    assert.equal(policy.isAdmin(user('bob')), false);
    assert.equal(policy.isAdmin(ANONYMOUS), false);
  });
});

describe('accessControl.groups', () => {
  const config: AccessControlConfig = {
    repositories: {
      '**': {
        policies: [
          { groups: ['ci'], actions: ['create'] },
          { groups: ['Ops'], actions: ['delete'] },
        ],
      },
    },
    adminPolicy: { groups: ['ops'], actions: ['update'] },
    groups: { ci: { users: ['zot-ci', 'bot'] }, Ops: { users: ['carol'] }, empty: {} },
  };
  const policy = compilePolicy(config, AUTH);

  it('adds config groups to every authentication method, on top of asserted groups', () => {
    for (const method of ['htpasswd', 'apikey', 'session', 'token'] as const) {
      assert.deepEqual(
        ACTIONS.filter((a) => policy.can({ username: 'zot-ci', groups: [], method }, a, 'r')),
        ['create'],
        method,
      );
    }
    assert.deepEqual(policy.groupsOf({ username: 'bot', groups: ['x', 'ci'], method: 'session' }), [
      'x',
      'ci',
    ]);
    assert.deepEqual(policy.groupsOf(user('bot', ['x'])), ['x', 'ci']);
    assert.deepEqual(policy.groupsOf(user('nobody', ['x'])), ['x']);
  });

  it('lower-cases group names defined there, as zot’s loader does with every map key', () => {
    // Group "Ops" is loaded as "ops": it matches adminPolicy's "ops", not the policy entry's "Ops".
    assert.deepEqual(allowed(policy, user('carol'), 'r'), ['update']);
    assert.equal(policy.isAdmin(user('carol')), true);
  });

  it('gives the anonymous caller no groups', () => {
    const p = compilePolicy(
      {
        repositories: { '**': { policies: [{ groups: ['everyone'], actions: ['read'] }] } },
        groups: { everyone: { users: [''] } },
      },
      AUTH,
    );
    assert.deepEqual(allowed(p, ANONYMOUS, 'r'), []);
    assert.deepEqual(p.groupsOf(ANONYMOUS), []);
  });
});

describe('metrics', () => {
  it('admits the anonymous caller when metrics.users contains "" (zot before June 2026)', () => {
    const policy = compilePolicy({ metrics: { users: [''] } }, AUTH);
    assert.equal(policy.canScrapeMetrics(ANONYMOUS), true);
    assert.equal(policy.canScrapeMetrics(user('bob')), false);
  });

  it('admits the anonymous caller when metrics.anonymousPolicy contains read (zot since)', () => {
    const policy = compilePolicy({ metrics: { anonymousPolicy: ['read'] } }, AUTH);
    assert.equal(policy.canScrapeMetrics(ANONYMOUS), true);
    assert.equal(policy.canScrapeMetrics(user('bob')), false);
  });

  it('admits the authenticated users metrics.users names, and nobody else', () => {
    const policy = compilePolicy(
      {
        metrics: { users: ['prometheus'], anonymousPolicy: ['create'] },
        adminPolicy: { users: ['root'], actions: ['read'] },
      },
      AUTH,
    );
    assert.equal(policy.canScrapeMetrics(user('prometheus')), true);
    assert.equal(policy.canScrapeMetrics(user('root')), false);
    assert.equal(policy.canScrapeMetrics(ANONYMOUS), false);
  });

  it('admits nobody when there is no metrics block', () => {
    const policy = compilePolicy(
      { repositories: { '**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] } } },
      AUTH,
    );
    assert.equal(policy.canScrapeMetrics(ANONYMOUS), false);
    assert.equal(policy.canScrapeMetrics(user('bob')), false);
  });
});

describe('anonymousAllowed and anonymousMayRead', () => {
  it('are true when some pattern lets the anonymous caller read', () => {
    const policy = compilePolicy({ repositories: { 'pub/**': { anonymousPolicy: ['read'] } } }, AUTH);
    assert.equal(policy.anonymousAllowed(), true);
    assert.equal(policy.anonymousMayRead(), true);
  });

  it('distinguish a non-empty anonymousPolicy without read (zot lets anonymous through, but not to read)', () => {
    const policy = compilePolicy({ repositories: { drop: { anonymousPolicy: ['create'] } } }, AUTH);
    assert.equal(policy.anonymousAllowed(), true);
    assert.equal(policy.anonymousMayRead(), false);
  });

  it('are false when nothing grants the anonymous caller anything', () => {
    const policy = compilePolicy(
      { repositories: { '**': { anonymousPolicy: [], defaultPolicy: ['read'] } } },
      AUTH,
    );
    assert.equal(policy.anonymousAllowed(), false);
    assert.equal(policy.anonymousMayRead(), false);
  });

  it('lets anonymous callers through when no authentication is configured, to be judged by the policy', () => {
    const policy = compilePolicy({ repositories: { 'pub/**': { defaultPolicy: ['read'] } } }, NO_AUTH);
    assert.equal(policy.anonymousAllowed(), true);
    assert.equal(policy.anonymousMayRead(), false);
    assert.deepEqual(allowed(policy, ANONYMOUS, 'pub/x'), []);
  });
});

describe('CEL conditions (zot HEAD), which Berth does not evaluate', () => {
  it('make a policy entry grant nothing rather than grant unconditionally', () => {
    const policy = compilePolicy(
      {
        repositories: {
          '**': {
            policies: [
              { users: ['bob'], actions: ['delete'], conditions: [{ expression: 'req.tls.enabled' }] },
              { users: ['bob'], actions: ['read'], conditions: [] },
            ],
          },
        },
        adminPolicy: { users: ['bob'], actions: ['update'], conditions: [{ expression: 'false' }] },
      },
      AUTH,
    );
    assert.deepEqual(allowed(policy, user('bob'), 'r'), ['read']);
  });
});

describe('remembering which pattern governs a repository', () => {
  it('gives the same answers before, while and after the memory fills up', () => {
    const policy = compilePolicy(
      { repositories: { '**': { defaultPolicy: ['read'] }, 'team/**': { defaultPolicy: ['create'] } } },
      AUTH,
    );
    const bob = user('bob');
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 12_000; i++) {
        const repository = i % 2 === 0 ? `team/r${i}` : `r${i}`;
        assert.equal(policy.can(bob, 'create', repository), i % 2 === 0, repository);
        assert.equal(policy.can(bob, 'read', repository), i % 2 === 1, repository);
      }
    }
  });
});
