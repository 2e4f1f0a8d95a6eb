/** Config validation: every refusal names the key at fault, as `berth verify` prints it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { base, HOUR, parse, problems } from './test-helpers.js';

describe('validation', () => {
  it('names unknown keys by their full path', () => {
    const lines = problems({
      ...base,
      http: {
        auth: {
          openid: { providers: { oidc: { issuer: 'https://i', scopes: ['openid'], clientSecrett: 'x' } } },
        },
      },
    });
    assert.equal(
      lines[0],
      'http.auth.openid.providers.oidc.clientSecrett: unknown key; did you mean "clientsecret"?',
    );
  });

  it('reads keys in any case, as zot does', () => {
    const { config } = parse({
      STORAGE: { RootDirectory: '/data', GCInterval: '2h' },
      HTTP: {
        Address: '0.0.0.0',
        PORT: '9000',
        accesscontrol: { Repositories: { 'Team/**': { anonymouspolicy: ['read'] } } },
      },
      Log: { LEVEL: 'WARN' },
    });
    assert.equal(config.storage.rootDirectory, '/data');
    assert.equal(config.storage.gcInterval, 2 * HOUR);
    assert.equal(config.http.port, 9000);
    assert.deepEqual(Object.keys(config.http.accessControl?.repositories ?? {}), ['team/**']);
    assert.equal(config.log.level, 'warn');
  });

  it('refuses bad durations, naming the key', () => {
    assert.deepEqual(problems({ storage: { rootDirectory: '/d', gcDelay: '1d' } }), [
      'storage.gcDelay: invalid duration "1d": unknown unit "d" (units: ns, us, ms, s, m, h); Go durations have no day unit, write "24h"',
    ]);
    assert.deepEqual(problems({ storage: { rootDirectory: '/d', gcInterval: '-1h' } }), [
      'storage.gcInterval: must not be negative, got "-1h"',
    ]);
    assert.match(
      problems({ storage: { rootDirectory: '/d', gcDelay: 3600 } })[0] ?? '',
      /^storage\.gcDelay: write durations as strings/,
    );
    assert.match(
      problems({
        ...base,
        extensions: {
          sync: { registries: [{ urls: ['https://a'], onDemand: true, pollInterval: 'often' }] },
        },
      })[0] ?? '',
      /^extensions\.sync\.registries\[0\]\.pollInterval: invalid duration "often"/,
    );
  });

  it('refuses an unknown log level and accepts every zerolog level', () => {
    assert.deepEqual(problems({ ...base, log: { level: 'verbose' } }), [
      'log.level: must be one of trace, debug, info, warn, error, fatal, panic, disabled, got "verbose"',
    ]);
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic', 'disabled']) {
      assert.equal(parse({ ...base, log: { level } }).config.log.level, level);
    }
  });

  it('reports every problem at once, first line first', () => {
    const lines = problems({
      storage: { rootDirectory: '/d', gcDelay: 'x' },
      http: { port: 'y' },
      log: { level: 'z' },
      bogus: 1,
    });
    assert.equal(lines[0], 'bogus: unknown key');
    assert.equal(lines.length, 4);
  });

  it('needs storage.rootDirectory', () => {
    assert.deepEqual(problems({ http: { port: 1 } }), ['storage: required']);
    assert.deepEqual(problems({ storage: { dedupe: true } }), [
      'storage.rootDirectory: required: the folder repositories are stored in',
    ]);
  });

  it('refuses an empty file and a non-object', () => {
    assert.deepEqual(problems({}), ['config: is empty; it needs at least storage.rootDirectory']);
    assert.deepEqual(problems([]), ['config: must be a JSON object']);
  });

  it('checks openid providers', () => {
    const http = (providers: unknown) => ({ ...base, http: { auth: { openid: { providers } } } });
    assert.match(
      problems(http({ authentik: { issuer: 'https://i', scopes: ['openid'], clientid: 'x' } }))[0] ?? '',
      /^http\.auth\.openid\.providers\.authentik: unsupported provider/,
    );
    assert.deepEqual(problems(http({ oidc: { scopes: ['openid'], clientid: 'x' } })), [
      'http.auth.openid.providers.oidc.issuer: required for an OpenID Connect provider',
    ]);
    assert.match(
      problems(http({ oidc: { issuer: 'https://i', clientid: 'x' } }))[0] ?? '',
      /^http\.auth\.openid\.providers\.oidc\.scopes: required/,
    );
    const github = parse(http({ github: { clientid: 'x', clientsecret: 'y', scopes: ['read:org'] } })).config
      .http.auth?.openid?.providers['github'];
    assert.deepEqual(github?.scopes, ['read:org']);
  });

  it('checks repository patterns and warns about ones that cannot match', () => {
    const access = (repositories: unknown) => ({
      ...base,
      http: { auth: { htpasswd: { path: '/h' } }, accessControl: { repositories } },
    });
    assert.deepEqual(problems(access({ 'team-[ab/**': { anonymousPolicy: ['read'] } })), [
      'http.accessControl.repositories["team-[ab/**"]: invalid repository pattern: has a "[" without a matching "]"',
    ]);
    const { warnings } = parse(access({ '/infra/**': { defaultPolicy: ['read', 'write'] } }));
    assert.deepEqual(warnings, [
      'http.accessControl.repositories["/infra/**"]: starts with "/" and never matches: repository names have no leading slash',
      'http.accessControl.repositories["/infra/**"].defaultPolicy: unknown action "write" grants nothing (actions: read, create, update, delete)',
    ]);
  });

  it('refuses access control that grants users something without any authentication', () => {
    assert.match(
      problems({
        ...base,
        http: { accessControl: { repositories: { '**': { defaultPolicy: ['read'] } } } },
      })[0] ?? '',
      /^http\.accessControl: grants access to users, but no authentication is configured/,
    );
    const anonymousOnly = parse({
      ...base,
      http: { accessControl: { repositories: { '**': { anonymousPolicy: ['read'] } } } },
    });
    assert.deepEqual(anonymousOnly.config.http.accessControl?.repositories['**']?.anonymousPolicy, ['read']);
  });

  it('checks sync registries', () => {
    const sync = (registry: Record<string, unknown>) => ({
      ...base,
      extensions: { sync: { registries: [{ urls: ['https://r.test'], onDemand: true, ...registry }] } },
    });
    assert.deepEqual(problems(sync({ maxRetries: 3 })), [
      'extensions.sync.registries[0].retryDelay: required when maxRetries is set',
    ]);
    assert.match(
      problems(sync({ content: [{ prefix: '{a,b' }] }))[0] ?? '',
      /^extensions\.sync\.registries\[0\]\.content\[0\]\.prefix: invalid glob "\{a,b"/,
    );
    assert.match(
      problems(sync({ content: [{ prefix: '**', tags: { regex: 'v(1' } }] }))[0] ?? '',
      /^extensions\.sync\.registries\[0\]\.content\[0\]\.tags\.regex: "v\(1" does not compile/,
    );
    assert.deepEqual(
      parse(sync({ tlsVerify: false })).config.extensions?.sync?.registries[0]?.tlsVerify,
      false,
    );
  });

  it('checks the metrics path like zot', () => {
    const metrics = (path: string) => ({ ...base, extensions: { metrics: { prometheus: { path } } } });
    assert.equal(
      parse(metrics('/internal/metrics')).config.extensions?.metrics?.prometheus.path,
      '/internal/metrics',
    );
    assert.deepEqual(problems(metrics('metrics')), [
      'extensions.metrics.prometheus.path: must start with "/"',
    ]);
    assert.deepEqual(problems(metrics('/')), ['extensions.metrics.prometheus.path: cannot be "/"']);
    assert.deepEqual(problems(metrics('/v2')), ['extensions.metrics.prometheus.path: cannot be "/v2"']);
    assert.match(problems(metrics('/metrics/'))[0] ?? '', /must be a clean path/);
  });

  it('accepts the UI without search (zot would refuse it)', () => {
    const { config, warnings } = parse({ ...base, extensions: { ui: { enable: true } } });
    assert.equal(config.extensions?.ui?.enable, true);
    assert.deepEqual(warnings, []);
  });

  it('refuses stores whose folders nest', () => {
    assert.deepEqual(
      problems({ storage: { rootDirectory: '/srv/r', subPaths: { '/a': { rootDirectory: '/srv/r/a' } } } }),
      ['storage.subPaths["/a"].rootDirectory: inside storage.rootDirectory (/srv/r)'],
    );
  });
});
