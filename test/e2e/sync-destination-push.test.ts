/**
 * Pushes under a pull-through destination (issue 11 item 12): with the user's policy, CI may
 * `create` anywhere — but an image pushed as `docker.io/...` would be pulled by nodes as if it came
 * from Docker Hub. Such pushes need `update` (administrators); elsewhere `create` still suffices.
 * The cache is a Berth process with the user's sync shape (`prefix: "**"`, `destination:
 * "/docker.io"`); the upstream is another real registry process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { getManifest, makeImage, pushContent, RegistryResponseError } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('pushes under a sync destination', { timeout: 120_000 }, () => {
  let upstream: RunningServer;
  let cache: RunningServer;
  let work: string;
  const official = makeImage();

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-sync-destination-push-'));
    const file = path.join(work, 'htpasswd');
    await writeFile(file, `ci:${await bcrypt.hash('ci-pw', 4)}\nadmin:${await bcrypt.hash('admin-pw', 4)}\n`);
    upstream = await startBerth();
    await pushContent(upstream.url, 'library/alpine', official, '3');
    cache = await startBerth({
      config: {
        http: {
          auth: { htpasswd: { path: file } },
          accessControl: {
            repositories: {
              '**': {
                anonymousPolicy: ['read'],
                policies: [
                  { users: ['ci'], actions: ['read', 'create'] },
                  { users: ['admin'], actions: ['read', 'create', 'update', 'delete'] },
                ],
              },
            },
          },
        },
        extensions: {
          sync: {
            enable: true,
            registries: [
              {
                // A freshness window: a cached tag is not re-checked upstream for an hour.
                manifestCheckInterval: '1h',
                urls: [upstream.url],
                onDemand: true,
                tlsVerify: false,
                content: [{ prefix: '**', destination: '/docker.io' }],
              },
            ],
          },
        },
      },
    });
  });
  after(async () => {
    await cache?.stop();
    await upstream?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('refuses a create-only push under docker.io/ with 403, and the upstream image is what nodes get', async () => {
    const planted = makeImage();
    await assert.rejects(
      pushContent(cache.url, 'docker.io/library/alpine', planted, 'planted', {
        headers: basic('ci', 'ci-pw'),
      }),
      (err) => err instanceof RegistryResponseError && err.status === 403,
    );
    await assert.rejects(
      pushContent(cache.url, 'docker.io/library/alpine', planted, '3', { headers: basic('ci', 'ci-pw') }),
      (err) => err instanceof RegistryResponseError && err.status === 403,
    );
    const pulled = await getManifest(cache.url, 'docker.io/library/alpine', '3');
    assert.equal(pulled.status, 200);
    assert.equal(pulled.digestHeader, official.manifest.digest);
    assert.equal((await getManifest(cache.url, 'docker.io/library/alpine', 'planted')).status, 404);
  });

  it('lets the same user push outside the destination, and an administrator push inside it', async () => {
    await pushContent(cache.url, 'ci/app', makeImage(), 'v1', { headers: basic('ci', 'ci-pw') });
    await pushContent(cache.url, 'docker.io/team/override', makeImage(), 'v1', {
      headers: basic('admin', 'admin-pw'),
    });
  });

  it("a local push over a cached upstream tag does not mask the upstream's image", async () => {
    assert.equal(
      (await getManifest(cache.url, 'docker.io/library/alpine', '3')).digestHeader,
      official.manifest.digest,
    );
    await pushContent(cache.url, 'docker.io/library/alpine', makeImage(), '3', {
      headers: basic('admin', 'admin-pw'),
    });
    const pulled = await getManifest(cache.url, 'docker.io/library/alpine', '3');
    assert.equal(pulled.digestHeader, official.manifest.digest);
  });
});
