/**
 * `berth doctor` against a real OpenID provider (oidc-provider) and a real upstream registry (a
 * second Berth): everything fine exits 0 and says what it found; an issuer that names another
 * issuer, an upstream nobody answers on and a world-writable data directory each fail, named.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run, type RunResult } from '../support/clients.js';
import { freePort, startOidcProvider, type OidcProvider } from '../support/oidc.js';
import { CLI, startBerth, type RunningServer } from '../support/server.js';

describe('berth doctor', () => {
  let work: string;
  let provider: OidcProvider;
  let upstream: RunningServer;

  const doctor = async (config: Record<string, unknown>, name: string): Promise<RunResult> => {
    const file = path.join(work, `${name}.json`);
    await writeFile(file, JSON.stringify(config));
    return run(process.execPath, [CLI, 'doctor', file], { env: { NO_COLOR: '1' } });
  };
  const configWith = async (
    root: string,
    issuer: string,
    upstreamUrl: string,
  ): Promise<Record<string, unknown>> => {
    const credentials = path.join(work, 'oidc-credentials.json');
    await writeFile(
      credentials,
      JSON.stringify({ clientid: provider.clientId, clientsecret: provider.clientSecret }),
    );
    return {
      storage: { rootDirectory: root },
      http: {
        address: '127.0.0.1',
        port: '5000',
        externalUrl: 'http://127.0.0.1:5000',
        auth: {
          openid: { providers: { oidc: { issuer, credentialsFile: credentials, scopes: ['openid'] } } },
        },
      },
      extensions: {
        sync: { enable: true, registries: [{ urls: [upstreamUrl], onDemand: true, tlsVerify: false }] },
      },
    };
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-doctor-'));
    provider = await startOidcProvider({ redirectUris: ['http://127.0.0.1:5000/zot/auth/callback/oidc'] });
    upstream = await startBerth();
  });

  after(async () => {
    await upstream?.stop();
    await provider?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('reports a healthy set-up and exits 0', async () => {
    const root = path.join(work, 'data-ok');
    await mkdir(root, { mode: 0o750 });
    const result = await doctor(await configWith(root, provider.issuer, upstream.url), 'ok');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^ok {3}data directory +.*is writable/m);
    assert.match(result.stdout, /^ok {3}free space +.* free of /m);
    assert.match(result.stdout, /^ok {3}OIDC oidc +.*discovery document fine/m);
    assert.match(
      result.stdout,
      new RegExp(`^ok {3}sync upstream +${upstream.url} answers as a registry`, 'm'),
    );
    assert.match(result.stdout, /^ok {3}clock +within \d+ s of /m);
  });

  it('names each problem and exits 1', async () => {
    const root = path.join(work, 'data-open');
    await mkdir(root);
    await chmod(root, 0o777);
    const nobody = `http://127.0.0.1:${await freePort()}`;
    // The provider's issuer without its path: its discovery document is not there.
    const wrongIssuer = new URL(provider.issuer).origin;
    const result = await doctor(await configWith(root, wrongIssuer, nobody), 'bad');
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^FAIL data directory +.*writable by everybody/m);
    assert.match(result.stdout, /^FAIL OIDC oidc +.*well-known\/openid-configuration/m);
    assert.match(result.stdout, new RegExp(`^FAIL sync upstream +${nobody}: .*ECONNREFUSED`, 'm'));
    assert.match(result.stdout, /problems? found/);
  });

  it('exits 2 naming the key of an invalid configuration', async () => {
    const result = await doctor({ storage: { rootDirectory: work }, http: { port: 'eighty' } }, 'invalid');
    assert.equal(result.code, 2);
    assert.match(result.stdout, /http\.port/);
  });
});
