import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ConfigError, IMPLEMENTED_KEYS, loadConfigFile, parseConfig, type LoadResult } from './index.js';
import { base, HOUR, parse, problems } from './test-helpers.js';

/**
 * The user's production config, kept in the repository as a fixture (test/fixtures/); the compiled
 * test runs from dist/src/config, three levels below the project root.
 */
function exampleConfigPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/zot-config.example.json');
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-config-'));
});
after(() => {
  rmSync(work, { recursive: true, force: true });
});

function writeJson(name: string, value: unknown): string {
  const file = join(work, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe("the user's production config", () => {
  it('loads unchanged once its credentials file exists', async () => {
    const credentials = writeJson('oidc-credentials.json', { clientid: 'registry', clientsecret: 's3cret' });
    const text = readFileSync(exampleConfigPath(), 'utf8');
    const copy = join(work, 'zot-config.json');
    // The only edit: point credentialsFile at the temporary file (the original is /etc/registry/…).
    writeFileSync(copy, text.replace('/etc/registry/oidc-credentials.json', credentials));

    const { config, warnings } = await loadConfigFile(copy);

    assert.equal(config.distSpecVersion, '1.1.0');
    assert.equal(config.storage.rootDirectory, '/var/lib/registry');
    assert.equal(config.storage.dedupe, true);
    assert.equal(config.storage.gc, true);
    assert.equal(config.storage.gcDelay, HOUR);
    assert.equal(config.storage.gcInterval, 24 * HOUR);
    assert.equal(config.storage.retention.delay, HOUR);
    assert.equal(config.http.address, '0.0.0.0');
    assert.equal(config.http.port, 5050);
    assert.equal(config.http.externalUrl, 'https://registry.example.test');
    assert.equal(config.http.auth?.apikey, true);
    assert.deepEqual(config.http.auth?.openid?.providers['oidc'], {
      issuer: 'https://idp.example.test/application/o/registry/',
      credentialsFile: credentials,
      scopes: ['openid', 'email', 'profile'],
      claimMapping: { username: 'preferred_username', groups: 'groups' },
      clientid: 'registry',
      clientsecret: 's3cret',
    });
    const repositories = config.http.accessControl?.repositories ?? {};
    assert.deepEqual(Object.keys(repositories), ['**']);
    assert.deepEqual(repositories['**']?.anonymousPolicy, ['read']);
    assert.deepEqual(repositories['**']?.defaultPolicy, ['read']);
    assert.deepEqual(repositories['**']?.policies[0], {
      users: [],
      groups: ['artifact-workloads'],
      actions: ['read', 'create'],
      conditions: [],
    });
    assert.deepEqual(config.http.accessControl?.metrics, { users: [''], anonymousPolicy: [] });
    assert.equal(config.log.level, 'info');
    assert.deepEqual(config.extensions?.metrics, { enable: true, prometheus: { path: '/metrics' } });
    const sync = config.extensions?.sync;
    assert.equal(sync?.enable, true);
    assert.deepEqual(
      sync?.registries.map((registry) => [
        registry.urls[0],
        registry.content[0]?.destination,
        registry.onDemand,
        registry.tlsVerify,
      ]),
      [
        ['https://registry-1.docker.io', '/docker.io', true, true],
        ['https://ghcr.io', '/ghcr.io', true, true],
        ['https://quay.io', '/quay.io', true, true],
      ],
    );
    assert.equal(sync?.registries[0]?.syncTimeout, 3 * HOUR);
    assert.equal(config.extensions?.search?.cve?.updateInterval, 24 * HOUR);
    assert.equal(config.extensions?.ui?.enable, true);
    assert.deepEqual(warnings, []);
  });

  it('is refused, naming credentialsFile, when the credentials file is missing (as zot does)', async () => {
    await assert.rejects(loadConfigFile(exampleConfigPath()), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.keyPath, 'http.auth.openid.providers.oidc.credentialsFile');
      assert.match(
        error.message,
        /^http\.auth\.openid\.providers\.oidc\.credentialsFile: cannot read \/etc\/registry\/oidc-credentials\.json: no such file/,
      );
      return true;
    });
  });
});

describe('credentials files', () => {
  const withProvider = (provider: Record<string, unknown>) => ({
    ...base,
    http: {
      auth: {
        openid: { providers: { oidc: { issuer: 'https://idp.test', scopes: ['email'], ...provider } } },
      },
    },
  });

  it('needs both clientid and clientsecret, keys in any case', () => {
    const good = writeJson('mixed-case.json', { ClientID: 'id', CLIENTSECRET: 'secret' });
    const provider = parse(withProvider({ credentialsFile: good })).config.http.auth?.openid?.providers[
      'oidc'
    ];
    assert.equal(provider?.clientid, 'id');
    assert.equal(provider?.clientsecret, 'secret');

    const half = writeJson('half.json', { clientid: 'id' });
    assert.deepEqual(problems(withProvider({ credentialsFile: half })), [
      `http.auth.openid.providers.oidc.credentialsFile: ${half} is missing "clientsecret"`,
    ]);
    const extra = writeJson('extra.json', { clientid: 'id', clientsecret: 's', tenant: 't' });
    assert.match(problems(withProvider({ credentialsFile: extra }))[0] ?? '', /has an unknown key "tenant"/);
  });

  it('resolves a relative credentialsFile against the config folder', () => {
    writeJson('relative.json', { clientid: 'id', clientsecret: 's' });
    const result = parseConfig(withProvider({ credentialsFile: 'relative.json' }), { baseDir: work });
    assert.equal(
      result.config.http.auth?.openid?.providers['oidc']?.credentialsFile,
      join(work, 'relative.json'),
    );
  });

  it('accepts inline credentials with a deprecation warning, and refuses a provider without any', () => {
    const { config, warnings } = parse(withProvider({ clientid: 'inline', clientsecret: 's' }));
    assert.equal(config.http.auth?.openid?.providers['oidc']?.clientid, 'inline');
    assert.ok(
      warnings.includes(
        'http.auth.openid.providers.oidc: deprecated: put clientid and clientsecret in a credentialsFile rather than in the config',
      ),
    );
    assert.match(
      problems(withProvider({}))[0] ?? '',
      /^http\.auth\.openid\.providers\.oidc: needs a client id/,
    );
  });

  it('reads a sync credentials file keyed by host', () => {
    const file = writeJson('sync-credentials.json', {
      'registry-1.docker.io': { username: 'u', password: 'p' },
    });
    const { config } = parse({ ...base, extensions: { sync: { credentialsFile: file, registries: [] } } });
    assert.deepEqual(config.extensions?.sync?.credentials, {
      'registry-1.docker.io': { username: 'u', password: 'p' },
    });
  });
});

describe('defaults', () => {
  it('fills in what a minimal file leaves out', () => {
    const { config, warnings } = parse({ storage: { rootDirectory: 'data' } });
    assert.equal(config.storage.rootDirectory, '/etc/berth/data');
    assert.equal(config.storage.dedupe, true);
    assert.equal(config.storage.commit, false);
    assert.equal(config.storage.gc, true);
    assert.equal(config.storage.gcDelay, HOUR);
    assert.equal(config.storage.gcInterval, HOUR);
    assert.deepEqual(config.storage.retention, { dryRun: false, delay: HOUR, policies: [] });
    assert.equal(config.http.address, '127.0.0.1');
    assert.equal(config.http.port, 8080);
    assert.deepEqual(config.http.compat, []);
    assert.equal(config.http.auth, undefined);
    assert.equal(config.http.accessControl, undefined);
    assert.equal(config.log.level, 'info');
    assert.equal(config.extensions, undefined);
    assert.equal(config.distSpecVersion, '1.1.1');
    assert.deepEqual(warnings, []);
  });

  it('turns the GC timings off with GC unless they are given', () => {
    const off = parse({ storage: { rootDirectory: '/d', gc: false } }).config.storage;
    assert.deepEqual([off.gcDelay, off.gcInterval, off.retention.delay], [0, 0, 0]);
    const { config, warnings } = parse({ storage: { rootDirectory: '/d', gc: false, gcDelay: '2h' } });
    assert.equal(config.storage.gcDelay, 2 * HOUR);
    assert.deepEqual(warnings, ['storage.gcDelay: set while storage.gc is false; ignored']);
  });

  it('takes the retention delay from gcDelay and deletes untagged manifests by default', () => {
    const { storage } = parse({
      storage: {
        rootDirectory: '/d',
        gcDelay: '3h',
        retention: { policies: [{ repositories: ['infra/**'], keepTags: [{ patterns: ['^v'] }] }] },
      },
    }).config;
    assert.equal(storage.retention.delay, 3 * HOUR);
    assert.deepEqual(storage.retention.policies[0], {
      repositories: ['infra/**'],
      deleteReferrers: false,
      deleteUntagged: true,
      keepTags: [{ patterns: ['^v'], mostRecentlyPushedCount: 0, mostRecentlyPulledCount: 0 }],
    });
  });

  it('counts an extension block without enable as enabled, and honours enable: false', () => {
    const { extensions } = parse({
      ...base,
      extensions: { metrics: {}, ui: {}, scrub: {}, sync: { enable: false } },
    }).config;
    assert.deepEqual(extensions?.metrics, { enable: true, prometheus: { path: '/metrics' } });
    assert.equal(extensions?.ui?.enable, true);
    assert.deepEqual(extensions?.scrub, { enable: true, interval: 24 * HOUR });
    assert.equal(extensions?.sync?.enable, false);
    assert.equal(extensions?.search, undefined);
  });

  it('forces API keys on with openid, and prepends the openid scope', () => {
    const credentials = writeJson('c.json', { clientid: 'id', clientsecret: 's' });
    const { auth } = parse({
      ...base,
      http: {
        auth: {
          apikey: false,
          openid: {
            providers: {
              oidc: { issuer: 'https://idp.test', scopes: ['email'], credentialsFile: credentials },
            },
          },
        },
      },
    }).config.http;
    assert.equal(auth?.apikey, true);
    assert.deepEqual(auth?.openid?.providers['oidc']?.scopes, ['openid', 'email']);
    assert.deepEqual(auth?.openid?.providers['oidc']?.claimMapping, { username: 'email', groups: 'groups' });
  });

  it('converts every duration to milliseconds', () => {
    const { config } = parse({
      storage: {
        rootDirectory: '/d',
        retention: { delay: '90m', policies: [{ keepTags: [{ pulledWithin: '720h' }] }] },
      },
      http: {
        readTimeout: '30s',
        writeTimeout: '1m',
        auth: { failDelay: 2, htpasswd: { path: '/etc/htpasswd' } },
      },
      extensions: {
        sync: {
          registries: [
            {
              urls: ['https://a.test'],
              onDemand: true,
              pollInterval: '6h',
              maxRetries: 3,
              retryDelay: '5m',
              syncTimeout: '10m',
            },
          ],
        },
        scrub: { interval: '48h' },
      },
    });
    assert.equal(config.storage.retention.delay, 90 * 60_000);
    assert.equal(config.storage.retention.policies[0]?.keepTags[0]?.pulledWithin, 720 * HOUR);
    assert.equal(config.http.readTimeout, 30_000);
    assert.equal(config.http.writeTimeout, 60_000);
    assert.equal(config.http.auth?.failDelay, 2000);
    const registry = config.extensions?.sync?.registries[0];
    assert.deepEqual(
      [registry?.pollInterval, registry?.retryDelay, registry?.syncTimeout],
      [6 * HOUR, 5 * 60_000, 10 * 60_000],
    );
    assert.equal(config.extensions?.scrub?.interval, 48 * HOUR);
  });

  it('raises CVE and scrub intervals below 2h to 2h, with a warning', () => {
    const { config, warnings } = parse({
      ...base,
      extensions: { search: { cve: { updateInterval: '1h' } }, scrub: { interval: '30m' } },
    });
    assert.equal(config.extensions?.search?.cve?.updateInterval, 2 * HOUR);
    assert.equal(config.extensions?.scrub?.interval, 2 * HOUR);
    assert.ok(warnings.includes('extensions.search.cve.updateInterval: "1h" is below the minimum; using 2h'));
    assert.ok(warnings.includes('extensions.scrub.interval: "30m" is below the minimum; using 2h'));
  });

  it('defaults the OSV data source, accepts another, refuses a non-HTTP one, and warns about trivy', () => {
    const cveOf = (cve: unknown): LoadResult => parse({ ...base, extensions: { search: { cve } } });
    const defaults = cveOf({}).config.extensions?.search?.cve;
    assert.equal(defaults?.osvUrl, 'https://osv-vulnerabilities.storage.googleapis.com');
    assert.deepEqual(defaults?.osvEcosystems, ['Alpine', 'Debian', 'Ubuntu', 'npm', 'PyPI', 'Go']);
    const mirror = cveOf({ osvUrl: 'http://osv.internal:8080/mirror', osvEcosystems: ['Debian'] });
    assert.equal(mirror.config.extensions?.search?.cve?.osvUrl, 'http://osv.internal:8080/mirror');
    assert.deepEqual(mirror.config.extensions?.search?.cve?.osvEcosystems, ['Debian']);
    assert.deepEqual(mirror.warnings, []);
    assert.ok(
      problems({ ...base, extensions: { search: { cve: { osvUrl: 'ftp://osv.internal/' } } } }).some((line) =>
        line.includes('extensions.search.cve.osvUrl: must be an http'),
      ),
    );
    const trivy = cveOf({ trivy: { dbRepository: 'ghcr.io/aquasecurity/trivy-db' } });
    assert.ok(
      trivy.warnings.some((w) => w.startsWith('extensions.search.cve.trivy')),
      trivy.warnings.join('\n'),
    );
  });
});

describe('http.port', () => {
  it('takes a string or a number from 0 to 65535', () => {
    assert.equal(parse({ ...base, http: { port: '5050' } }).config.http.port, 5050);
    assert.equal(parse({ ...base, http: { port: 5050 } }).config.http.port, 5050);
    assert.equal(parse({ ...base, http: { port: 0 } }).config.http.port, 0);
    assert.equal(parse({ ...base, http: { port: '65535' } }).config.http.port, 65535);
  });

  it('refuses anything else', () => {
    assert.deepEqual(problems({ ...base, http: { port: '70000' } }), [
      'http.port: must be from 0 to 65535, got 70000',
    ]);
    assert.deepEqual(problems({ ...base, http: { port: -1 } }), [
      'http.port: expected a port number from 0 to 65535, got number -1',
    ]);
    assert.deepEqual(problems({ ...base, http: { port: 'http' } }), [
      'http.port: expected a port number from 0 to 65535, got string "http"',
    ]);
    assert.deepEqual(problems({ ...base, http: { port: 80.5 } }), [
      'http.port: expected a port number from 0 to 65535, got number 80.5',
    ]);
  });
});

describe('warnings', () => {
  it('names every outermost key Berth does not implement yet', () => {
    const { warnings } = parse({
      distSpecVersion: '1.0.1',
      storage: { rootDirectory: '/d', subPaths: {}, maxRepos: 10 },
      http: {
        ratelimit: { rate: 10 },
        auth: { htpasswd: { path: '/h' } },
        accessControl: {
          repositories: {
            '**': { policies: [{ users: ['a'], actions: ['read'], conditions: [{ expression: 'true' }] }] },
          },
        },
      },
      scheduler: { numWorkers: 2 },
      extensions: { search: {}, lint: {}, metrics: {} },
    });
    assert.deepEqual(warnings, [
      'storage.subPaths: accepted but not implemented yet; ignored',
      'storage.maxRepos: accepted but not implemented yet; ignored',
      'http.accessControl.repositories["**"].policies[0].conditions: CEL conditions are not evaluated yet; a policy entry with conditions grants nothing',
      'scheduler: accepted but not implemented yet; ignored',
      'extensions.lint: accepted but not implemented yet; ignored',
      'distSpecVersion: "1.0.1" is not a version Berth serves; Berth implements 1.1.1, ignored',
    ]);
  });

  it('keeps the implemented keys in one list', () => {
    assert.ok(IMPLEMENTED_KEYS.includes('storage.rootDirectory'));
    assert.ok(IMPLEMENTED_KEYS.includes('extensions.search.enable'));
    assert.ok(IMPLEMENTED_KEYS.includes('extensions.search.cve'));
  });
});

describe('loadConfigFile', () => {
  it('reads JSON only, and says so for other formats', async () => {
    const yaml = join(work, 'config.yaml');
    writeFileSync(yaml, 'storage:\n  rootDirectory: /d\n');
    await assert.rejects(
      loadConfigFile(yaml),
      /^ConfigError: config: .*config\.yaml is not valid JSON \(Berth reads JSON config files only; convert this YAML file to JSON\)/,
    );
  });

  it('names a missing file', async () => {
    await assert.rejects(loadConfigFile(join(work, 'absent.json')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.keyPath, '');
      assert.match(error.message, /^config: cannot read .*absent\.json: no such file$/);
      return true;
    });
  });

  it('resolves a relative rootDirectory against the config file folder', async () => {
    const file = writeJson('relative-root.json', { storage: { rootDirectory: './data' } });
    const { config } = await loadConfigFile(file);
    assert.equal(config.storage.rootDirectory, join(work, 'data'));
  });
});
