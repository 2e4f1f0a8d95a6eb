/**
 * Periodic sync (mirroring) from CNCF Distribution, which lists its catalog, behind the Docker
 * token flow of test/support/token-server.ts (the catalog needs its own `registry:catalog:*`
 * scope). Only `team/**` is mirrored, under `/mirror`, and only semver tags that are not
 * release candidates.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startDistribution, type Registry } from '../support/clients.js';
import {
  getBlob,
  getManifest,
  listTags,
  makeImage,
  makeIndex,
  makeLayer,
  pushContent,
  sha256,
  type Content,
} from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { startUpstreamProxy, type UpstreamProxy } from '../support/token-server.js';

const TIMEOUT = { timeout: 300_000 };

interface Round {
  repositories: number;
  tags: number;
  copied: number;
  unchanged: number;
  failed: number;
}

describe('periodic sync from a catalog-listing upstream', () => {
  let distribution: Registry;
  let proxy: UpstreamProxy;
  let cache: RunningServer;

  const v100 = makeImage({ layerSizes: [256 * 1024] });
  const v120 = makeImage({ layerSizes: [300 * 1024, 2048] });
  const nightly = makeImage();
  const rc = makeImage();
  const lib = makeIndex();
  const unrelated = makeImage();

  /** The rounds the cache has finished so far, from its log. */
  const rounds = (): Round[] =>
    cache
      .output()
      .split('\n')
      .filter((line) => line.includes('"periodic sync round finished"'))
      .map((line) => JSON.parse(line) as Round);

  async function waitFor(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if (await done()) return;
      await sleep(100);
    }
    throw new Error(`gave up waiting for ${what}:\n${cache.output().slice(-5000)}`);
  }

  /** Waits until `count` more rounds than now have finished. */
  async function waitForRounds(count: number): Promise<void> {
    const target = rounds().length + count;
    await waitFor(`${count} more sync round(s)`, () => rounds().length >= target);
  }

  async function assertMirrored(repo: string, tag: string, content: Content): Promise<void> {
    const m = await getManifest(cache.url, repo, tag);
    assert.equal(m.status, 200, `${repo}:${tag}`);
    assert.equal(sha256(m.bytes), content.manifest.digest);
    for (const child of content.manifests) {
      assert.equal(sha256((await getManifest(cache.url, repo, child.digest)).bytes), child.digest);
    }
    for (const blob of content.blobs)
      assert.equal(sha256(await getBlob(cache.url, repo, blob.digest)), blob.digest);
  }

  before(async () => {
    distribution = await startDistribution();
    await pushContent(distribution.url, 'team/app', v100, 'v1.0.0');
    await pushContent(distribution.url, 'team/app', v120, 'v1.2.0');
    await pushContent(distribution.url, 'team/app', v120, 'latest');
    await pushContent(distribution.url, 'team/app', nightly, 'nightly');
    await pushContent(distribution.url, 'team/app', rc, 'v1.3.0-rc1');
    await pushContent(distribution.url, 'team/lib', lib, '2.0.0');
    await pushContent(distribution.url, 'other/thing', unrelated, 'v1.0.0');
    proxy = await startUpstreamProxy({ target: distribution.url, tokenAuth: {} });
    cache = await startBerth({
      config: {
        extensions: {
          sync: {
            registries: [
              {
                urls: [proxy.url],
                pollInterval: '2s',
                maxRetries: 3,
                retryDelay: '200ms',
                content: [
                  { prefix: 'team/**', destination: '/mirror', tags: { semver: true, excludeRegex: '-rc' } },
                ],
              },
            ],
          },
        },
      },
    });
  });

  after(async () => {
    await cache?.stop();
    await proxy?.stop();
    await distribution?.stop();
  });

  it('mirrors whole images of the selected repositories and tags, and nothing else', TIMEOUT, async () => {
    await waitForRounds(1);
    const first = rounds()[0];
    assert.deepEqual(first && { copied: first.copied, failed: first.failed }, { copied: 3, failed: 0 });

    assert.deepEqual((await listTags(cache.url, 'mirror/team/app')).sort(), ['v1.0.0', 'v1.2.0']);
    assert.deepEqual(await listTags(cache.url, 'mirror/team/lib'), ['2.0.0']);
    const catalog = (await (await fetch(`${cache.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(catalog.repositories.sort(), ['mirror/team/app', 'mirror/team/lib']);

    // Whole images (every platform of the index), byte for byte: this registry has no onDemand,
    // so everything it serves was copied by the round.
    await assertMirrored('mirror/team/app', 'v1.0.0', v100);
    await assertMirrored('mirror/team/app', 'v1.2.0', v120);
    await assertMirrored('mirror/team/lib', '2.0.0', lib);

    assert.equal(proxy.count('GET', /^\/v2\/other\//), 0, 'listed tags of a repository outside the prefix');
    for (const tag of ['latest', 'nightly', 'v1.3.0-rc1']) {
      assert.equal(
        proxy.count('HEAD', new RegExp(`/manifests/${tag}$`)) +
          proxy.count('GET', new RegExp(`/manifests/${tag}$`)),
        0,
        tag,
      );
    }
    assert.ok(proxy.tokenRequests.some((t) => t.scope === 'registry:catalog:*'));
  });

  it('copies only what changed in later rounds, retrying upstream failures', TIMEOUT, async () => {
    // A round may be under way: after two more, at least one ran entirely after the reset.
    proxy.reset();
    await waitForRounds(2);
    assert.equal(proxy.count('GET', /\/manifests\//), 0, JSON.stringify(proxy.requests));
    assert.equal(proxy.count('GET', /\/blobs\//), 0);
    assert.ok(proxy.count('HEAD', /\/manifests\/v1\.2\.0$/) >= 1);

    const shared = v120.layers[0];
    assert.ok(shared);
    const v140 = makeImage({ layers: [shared, makeLayer({ size: 4096 })] });
    const added = v140.layers[1];
    assert.ok(added);
    await pushContent(distribution.url, 'team/app', v140, 'v1.4.0');
    proxy.reset();
    proxy.failNext(2, 503);
    await waitFor('v1.4.0 in the mirror', async () =>
      (await listTags(cache.url, 'mirror/team/app')).includes('v1.4.0'),
    );
    await assertMirrored('mirror/team/app', 'v1.4.0', v140);

    const fetched = (digest: string): number =>
      proxy.requests.filter(
        (r) => r.method === 'GET' && r.status === 200 && r.path.endsWith(`/blobs/${digest}`),
      ).length;
    assert.equal(fetched(shared.digest), 0, 'downloaded a layer the mirror already had');
    assert.equal(fetched(added.digest), 1);
    assert.match(cache.output(), /periodic sync: retrying/);
  });
});
