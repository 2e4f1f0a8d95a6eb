import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { canonicaliseKeys } from './keys.js';
import { configSchema } from './schema/root.js';

describe('canonicaliseKeys', () => {
  it('spells object keys as the schema does, whatever case the file uses', () => {
    const { value, problems } = canonicaliseKeys(
      { STORAGE: { rootdirectory: '/data', GCDELAY: '2h' }, Http: { ExternalURL: 'https://r.example' } },
      configSchema,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(value, {
      storage: { rootDirectory: '/data', gcDelay: '2h' },
      http: { externalUrl: 'https://r.example' },
    });
  });

  it('lower-cases map keys but keeps values', () => {
    const { value } = canonicaliseKeys(
      {
        http: {
          accessControl: {
            repositories: { 'Team/**': { policies: [{ Users: ['Alice'], actions: ['read'] }] } },
            groups: { Admins: { users: ['Bob'] } },
          },
          auth: { openid: { providers: { OIDC: { ClientID: 'MixedCase' } } } },
        },
      },
      configSchema,
    );
    assert.deepEqual(value, {
      http: {
        accessControl: {
          repositories: { 'team/**': { policies: [{ users: ['Alice'], actions: ['read'] }] } },
          groups: { admins: { users: ['Bob'] } },
        },
        auth: { openid: { providers: { oidc: { clientid: 'MixedCase' } } } },
      },
    });
  });

  it('names unknown keys by their full path and suggests the likely key', () => {
    const { problems } = canonicaliseKeys(
      {
        http: { auth: { openid: { providers: { oidc: { clientSecrett: 'x' } } } } },
        storage: { rootDir: '/x' },
      },
      configSchema,
    );
    assert.deepEqual(
      problems.map((problem) => problem.message),
      [
        'http.auth.openid.providers.oidc.clientSecrett: unknown key; did you mean "clientsecret"?',
        'storage.rootDir: unknown key',
      ],
    );
    assert.equal(problems[0]?.keyPath, 'http.auth.openid.providers.oidc.clientSecrett');
  });

  it('reports keys that collide once case is ignored', () => {
    const { problems } = canonicaliseKeys(
      { storage: { rootDirectory: '/a', rootdirectory: '/b' } },
      configSchema,
    );
    assert.deepEqual(
      problems.map((problem) => problem.message),
      ['storage.rootdirectory: duplicate of "rootDirectory" (keys are case-insensitive)'],
    );
  });

  it('walks into lists', () => {
    const { value, problems } = canonicaliseKeys(
      { extensions: { sync: { registries: [{ URLs: ['https://a'], onDemnd: true }] } } },
      configSchema,
    );
    assert.deepEqual(value, { extensions: { sync: { registries: [{ urls: ['https://a'] }] } } });
    assert.deepEqual(
      problems.map((problem) => problem.message),
      ['extensions.sync.registries[0].onDemnd: unknown key; did you mean "onDemand"?'],
    );
  });
});
