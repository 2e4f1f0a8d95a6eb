/**
 * Pull-through respects accessControl: only a caller who may `read` the destination path makes
 * the cache contact the upstream. The cache is a Berth process with htpasswd users and a policy
 * granting `read` to one of them; the upstream is another Berth process behind the recording proxy.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireCommand, runOk } from '../support/clients.js';
import { getManifest, makeImage, pushContent } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { startUpstreamProxy, type UpstreamProxy } from '../support/token-server.js';

const TIMEOUT = { timeout: 120_000 };

describe('pull-through cache under accessControl', () => {
  let upstream: RunningServer;
  let proxy: UpstreamProxy;
  let cache: RunningServer;
  let work: string;
  const image = makeImage();
  const basic = (user: string, password: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-sync-access-'));
    const htpasswd = path.join(work, 'htpasswd');
    const tool = requireCommand('htpasswd');
    await runOk(tool, ['-Bbc', htpasswd, 'reader', 'reader-pw']);
    await runOk(tool, ['-Bb', htpasswd, 'stranger', 'stranger-pw']);
    upstream = await startBerth();
    await pushContent(upstream.url, 'apps/private', image, 'v1');
    proxy = await startUpstreamProxy({ target: upstream.url });
    cache = await startBerth({
      config: {
        http: {
          auth: { htpasswd: { path: htpasswd } },
          accessControl: { repositories: { '**': { policies: [{ users: ['reader'], actions: ['read'] }] } } },
        },
        extensions: {
          sync: {
            registries: [
              { urls: [proxy.url], onDemand: true, content: [{ prefix: '**', destination: '/up' }] },
            ],
          },
        },
      },
    });
  });

  after(async () => {
    await cache?.stop();
    await proxy?.stop();
    await upstream?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('does not contact the upstream for a caller who may not read the path', TIMEOUT, async () => {
    proxy.reset();
    const anonymous = await getManifest(cache.url, 'up/apps/private', 'v1');
    assert.equal(anonymous.status, 401);
    const stranger = await getManifest(cache.url, 'up/apps/private', 'v1', {
      headers: basic('stranger', 'stranger-pw'),
    });
    assert.equal(stranger.status, 403);
    const head = await fetch(`${cache.url}/v2/up/apps/private/blobs/${image.config.digest}`, {
      method: 'HEAD',
    });
    assert.equal(head.status, 401);
    assert.deepEqual(proxy.requests, []);
  });

  it('fetches for a caller who may read it', TIMEOUT, async () => {
    proxy.reset();
    const reader = await getManifest(cache.url, 'up/apps/private', 'v1', {
      headers: basic('reader', 'reader-pw'),
    });
    assert.equal(reader.status, 200);
    assert.equal(reader.digestHeader, image.manifest.digest);
    assert.equal(proxy.count('GET', /^\/v2\/apps\/private\/manifests\/v1$/), 1);
  });
});
