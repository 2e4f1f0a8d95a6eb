/**
 * Acceptance scenario 10 (and the health check of 11) with `curl`, as the user's Prometheus probe
 * and health check run it: with the user's config `/metrics` answers Prometheus text to an
 * anonymous scraper because `accessControl.metrics.users` holds "" (the anonymous user), and
 * `/v2/_catalog` answers 200 anonymously. Without "" the metrics demand credentials: 401 for the
 * anonymous caller, 403 for a user not listed, 200 for one listed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireCommand, run } from '../support/clients.js';
import { startHomelab, type Homelab } from '../support/oidc.js';

describe('metrics and health with curl (user config)', () => {
  let curl: string;
  let lab: Homelab;
  let locked: Homelab;
  let closed: Homelab;

  const status = async (url: string, user?: string): Promise<{ code: string; body: string }> => {
    const args = ['-s', '-o', '-', '-w', '\n%{http_code}', ...(user === undefined ? [] : ['-u', user]), url];
    const result = await run(curl, args, { timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    const at = result.stdout.lastIndexOf('\n');
    return { code: result.stdout.slice(at + 1), body: result.stdout.slice(0, at) };
  };

  before(async () => {
    curl = requireCommand('curl');
    lab = await startHomelab({ withoutKeys: true });
    locked = await startHomelab({
      adapt: (config) => {
        (
          config as { http: { accessControl: { metrics: { users: string[] } } } }
        ).http.accessControl.metrics.users = ['zot-ci'];
      },
    });
    closed = await startHomelab({
      withoutKeys: true,
      adapt: (config) => {
        delete (
          config as {
            http: { accessControl: { repositories: Record<string, { anonymousPolicy?: string[] }> } };
          }
        ).http.accessControl.repositories['**']!.anonymousPolicy;
      },
    });
  });

  after(async () => {
    await lab?.stop();
    await locked?.stop();
    await closed?.stop();
  });

  it('10: answers Prometheus text to an anonymous `curl -sf /metrics`', async () => {
    const result = await run(curl, ['-sf', `${lab.url}/metrics`], { timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^# HELP /m);
    assert.match(result.stdout, /^# TYPE \S+ (counter|gauge|histogram|summary)$/m);
  });

  it('11: answers `curl -sf /v2/_catalog` anonymously with 200', async () => {
    const result = await run(curl, ['-sf', `${lab.url}/v2/_catalog`], { timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Array.isArray((JSON.parse(result.stdout) as { repositories: unknown }).repositories));
  });

  it('10: "" in metrics.users admits the anonymous scraper even where no repository admits anonymous callers', async () => {
    assert.equal((await status(`${closed.url}/metrics`)).code, '200');
    assert.equal((await status(`${closed.url}/v2/_catalog`)).code, '401');
  });

  it('10: without "" in metrics.users, /metrics demands credentials', async () => {
    const anonymous = await status(`${locked.url}/metrics`);
    assert.equal(anonymous.code, '401');
    assert.equal((await status(`${locked.url}/metrics`, `bob:${locked.keys.bob}`)).code, '403');
    const listed = await status(`${locked.url}/metrics`, `zot-ci:${locked.keys['zot-ci']}`);
    assert.equal(listed.code, '200');
    assert.match(listed.body, /^# HELP /m);
    assert.equal((await status(`${locked.url}/metrics`, 'zot-ci:wrong')).code, '401');
  });
});
