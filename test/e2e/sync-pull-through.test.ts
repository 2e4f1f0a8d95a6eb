/**
 * The pull-through cache (extensions.sync, onDemand) against a real upstream: another Berth
 * process behind the Docker token flow (test/support/token-server.ts, which also counts what
 * reaches the upstream), pulled through a Berth process by skopeo and by plain HTTP.
 *
 * The cache has three destinations on the same upstream, differing only in their freshness
 * window (`manifestCheckInterval`): `/cache` (1h), `/fresh` (none: a HEAD on every pull by tag)
 * and `/short` (2s).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { requireCommand, runOk, type RunResult } from '../support/clients.js';
import {
  getBlob,
  getManifest,
  hostPlatform,
  makeImage,
  makeIndex,
  pushContent,
  readOciLayout,
  sha256,
  type Image,
} from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { startUpstreamProxy, type UpstreamProxy } from '../support/token-server.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 300_000 };
const USER = 'berth-sync';
const PASSWORD = 'pull-through-secret';

describe('pull-through cache (on demand) from a token-authenticated upstream', () => {
  let upstream: RunningServer;
  let proxy: UpstreamProxy;
  let cache: RunningServer;
  let work: string;
  let skopeoBin: string;
  let policy: string;

  const skopeo = (args: string[]): Promise<RunResult> =>
    runOk(skopeoBin, ['--policy', policy, ...args], { timeoutMs: 240_000 });
  /** Pulls `repo:tag` from the cache into a fresh OCI layout with skopeo; returns the layout folder. */
  const pull = async (repo: string, tag: string, extra: string[] = []): Promise<string> => {
    const dir = await mkdtemp(path.join(work, 'pull-'));
    await skopeo([
      ...extra,
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      `docker://${cache.host}/${repo}:${tag}`,
      `oci:${dir}:${tag}`,
    ]);
    return dir;
  };

  before(async () => {
    skopeoBin = requireCommand('skopeo');
    work = await mkdtemp(path.join(tmpdir(), 'e2e-sync-'));
    policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    upstream = await startBerth();
    proxy = await startUpstreamProxy({ target: upstream.url, tokenAuth: { users: { [USER]: PASSWORD } } });
    const credentialsFile = path.join(work, 'sync-credentials.json');
    await writeFile(
      credentialsFile,
      JSON.stringify({ [proxy.host]: { username: USER, password: PASSWORD } }),
    );
    const registry = (destination: string, manifestCheckInterval?: string) => ({
      urls: [proxy.url],
      onDemand: true,
      content: [{ prefix: '**', destination }],
      ...(manifestCheckInterval ? { manifestCheckInterval } : {}),
    });
    cache = await startBerth({
      config: {
        extensions: {
          sync: {
            credentialsFile,
            registries: [registry('/cache', '1h'), registry('/fresh'), registry('/short', '2s')],
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

  /** Asserts that a pulled layout holds exactly the upstream's manifest and blobs. */
  async function assertPulled(dir: string, tag: string, image: Image): Promise<void> {
    const layout = await readOciLayout(dir);
    assert.equal(layout.byTag(tag).digest, image.manifest.digest, 'the cache changed the manifest digest');
    assert.ok((await layout.blob(image.manifest.digest)).equals(image.manifest.bytes));
    for (const blob of image.blobs) assert.ok((await layout.blob(blob.digest)).equals(blob.bytes));
  }

  it(
    'fetches on the first pull and serves the second from the cache, with one token for the repository',
    TIMEOUT,
    async () => {
      const image = makeImage({ layerSizes: [2 * MiB, 64 * 1024] });
      await pushContent(upstream.url, 'apps/web', image, 'v1');
      proxy.reset();

      await assertPulled(await pull('cache/apps/web', 'v1'), 'v1', image);
      assert.equal(proxy.count('GET', /^\/v2\/apps\/web\/manifests\/v1$/), 1);
      for (const blob of image.blobs)
        assert.equal(proxy.count('GET', new RegExp(`/blobs/${blob.digest}$`)), 1, `blob ${blob.digest}`);
      assert.equal(proxy.requests.length, 1 + image.blobs.length, JSON.stringify(proxy.requests));
      // One token request, with the configured credentials, reused for every request of the pull.
      assert.deepEqual(
        proxy.tokenRequests.map((t) => [t.scope, t.user]),
        [['repository:apps/web:pull', USER]],
      );

      proxy.reset();
      await assertPulled(await pull('cache/apps/web', 'v1'), 'v1', image);
      assert.deepEqual(proxy.requests, [], 'the second pull reached the upstream');

      // Served byte for byte, by tag and by digest.
      const byTag = await getManifest(cache.url, 'cache/apps/web', 'v1');
      assert.equal(byTag.status, 200);
      assert.equal(byTag.digestHeader, image.manifest.digest);
      assert.ok(byTag.bytes.equals(image.manifest.bytes));
      const byDigest = await getManifest(cache.url, 'cache/apps/web', image.manifest.digest);
      assert.ok(byDigest.bytes.equals(image.manifest.bytes));
      assert.deepEqual(proxy.requests, []);
    },
  );

  it(
    'streams a blob to the client while it is still arriving from upstream',
    { timeout: 120_000 },
    async () => {
      const image = makeImage({ layerSizes: [6 * MiB] });
      await pushContent(upstream.url, 'apps/stream', image, 'v1');
      const layer = image.layers[0];
      assert.ok(layer);
      // The upstream sends the first 2 MiB of the layer, then holds the rest until the gate opens.
      const gate = proxy.gate(new RegExp(`/blobs/${layer.digest}$`), 2 * MiB);
      assert.equal((await getManifest(cache.url, 'cache/apps/stream', 'v1')).status, 200);

      const res = await fetch(`${cache.url}/v2/cache/apps/stream/blobs/${layer.digest}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), String(layer.size));
      assert.equal(res.headers.get('docker-content-digest'), layer.digest);
      assert.ok(res.body);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const chunks: Uint8Array[] = [];
      let received = 0;
      await gate.reached;
      // A cache that waited for the whole download would never get here: the upstream is held.
      while (received < MiB) {
        const { value, done } = await reader.read();
        assert.ok(!done && value, 'the body ended early');
        chunks.push(value);
        received += value.length;
      }
      gate.open();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      assert.equal(sha256(Buffer.concat(chunks)), layer.digest);
    },
  );

  it(
    'collapses concurrent misses of one manifest and of one blob into one upstream fetch each',
    TIMEOUT,
    async () => {
      const image = makeImage({ layerSizes: [8 * MiB] });
      await pushContent(upstream.url, 'apps/burst', image, 'v1');
      proxy.reset();

      const manifests = await Promise.all(
        Array.from({ length: 12 }, () => getManifest(cache.url, 'cache/apps/burst', 'v1')),
      );
      for (const m of manifests) {
        assert.equal(m.status, 200, m.bytes.toString());
        assert.equal(sha256(m.bytes), image.manifest.digest);
      }
      assert.equal(proxy.count('GET', /\/manifests\/v1$/), 1);

      const layer = image.layers[0];
      assert.ok(layer);
      const blobs = await Promise.all(
        Array.from({ length: 12 }, () => getBlob(cache.url, 'cache/apps/burst', layer.digest)),
      );
      for (const bytes of blobs) assert.equal(sha256(bytes), layer.digest);
      assert.equal(
        proxy.count('GET', new RegExp(`/blobs/${layer.digest}$`)),
        1,
        JSON.stringify(proxy.requests),
      );
    },
  );

  it('pulls one platform of a multi-arch index without fetching the others', TIMEOUT, async () => {
    const other = hostPlatform().architecture === 'arm64' ? 'amd64' : 'arm64';
    const index = makeIndex({
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    await pushContent(upstream.url, 'apps/multi', index, 'v1');
    const wanted = index.images.find((i) => i.platform.architecture === other);
    const unwanted = index.images.find((i) => i.platform.architecture !== other);
    assert.ok(wanted && unwanted);
    proxy.reset();

    const dir = await mkdtemp(path.join(work, 'multi-'));
    await skopeo([
      '--override-arch',
      other,
      'copy',
      '--src-tls-verify=false',
      `docker://${cache.host}/cache/apps/multi:v1`,
      `oci:${dir}:v1`,
    ]);
    const layout = await readOciLayout(dir);
    assert.equal(layout.byTag('v1').digest, wanted.manifest.digest);

    assert.equal(proxy.count('GET', /\/manifests\/v1$/), 1);
    assert.equal(proxy.count('GET', new RegExp(`/manifests/${wanted.manifest.digest}$`)), 1);
    for (const blob of wanted.blobs)
      assert.equal(proxy.count('GET', new RegExp(`/blobs/${blob.digest}$`)), 1);
    assert.equal(
      proxy.count('GET', new RegExp(`/manifests/${unwanted.manifest.digest}$`)),
      0,
      'fetched another platform',
    );
    for (const blob of unwanted.blobs)
      assert.equal(proxy.count('GET', new RegExp(`/blobs/${blob.digest}$`)), 0);

    // The whole index is still pullable: the other platform is fetched when asked for.
    const all = await mkdtemp(path.join(work, 'multi-all-'));
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      '--src-tls-verify=false',
      `docker://${cache.host}/cache/apps/multi:v1`,
      `oci:${all}:v1`,
    ]);
    const full = await readOciLayout(all);
    assert.equal(full.byTag('v1').digest, index.manifest.digest);
    for (const image of index.images) for (const blob of image.blobs) await full.blob(blob.digest);
  });

  it(
    'revalidates a cached tag with a HEAD and picks up a moved tag after the freshness window',
    TIMEOUT,
    async () => {
      const first = makeImage();
      const second = makeImage();
      await pushContent(upstream.url, 'apps/moving', first, 'stable');
      for (const prefix of ['cache', 'fresh', 'short']) {
        assert.equal(
          (await getManifest(cache.url, `${prefix}/apps/moving`, 'stable')).digestHeader,
          first.manifest.digest,
        );
      }

      // Unchanged upstream: /fresh asks with a HEAD only; /cache does not ask at all.
      proxy.reset();
      assert.equal(
        (await getManifest(cache.url, 'fresh/apps/moving', 'stable')).digestHeader,
        first.manifest.digest,
      );
      assert.equal(
        (await getManifest(cache.url, 'cache/apps/moving', 'stable')).digestHeader,
        first.manifest.digest,
      );
      assert.deepEqual(
        proxy.requests.map((r) => `${r.method} ${r.path}`),
        ['HEAD /v2/apps/moving/manifests/stable'],
      );

      await pushContent(upstream.url, 'apps/moving', second, 'stable');
      proxy.reset();
      assert.equal(
        (await getManifest(cache.url, 'fresh/apps/moving', 'stable')).digestHeader,
        second.manifest.digest,
      );
      assert.equal(proxy.count('HEAD', /\/manifests\/stable$/), 1);
      assert.equal(proxy.count('GET', new RegExp(`/manifests/${second.manifest.digest}$`)), 1);
      // Within its one-hour window the cached tag is served as it was, without asking.
      proxy.reset();
      assert.equal(
        (await getManifest(cache.url, 'cache/apps/moving', 'stable')).digestHeader,
        first.manifest.digest,
      );
      assert.deepEqual(proxy.requests, []);
      // After its two-second window, /short asks again and follows the move.
      await sleep(2_500);
      assert.equal(
        (await getManifest(cache.url, 'short/apps/moving', 'stable')).digestHeader,
        second.manifest.digest,
      );
      // The old image stays pullable by digest from the cache.
      const old = await getManifest(cache.url, 'short/apps/moving', first.manifest.digest);
      assert.equal(old.status, 200);
    },
  );

  it('answers 404 MANIFEST_UNKNOWN for an image the upstream does not have', TIMEOUT, async () => {
    const res = await fetch(`${cache.url}/v2/cache/apps/nothing-here/manifests/v1`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]?.code, 'MANIFEST_UNKNOWN');
    const tag = await fetch(`${cache.url}/v2/cache/apps/web/manifests/no-such-tag`);
    assert.equal(tag.status, 404);
    assert.equal(((await tag.json()) as { errors: { code: string }[] }).errors[0]?.code, 'MANIFEST_UNKNOWN');
  });

  it('leaves repositories outside every destination alone', TIMEOUT, async () => {
    proxy.reset();
    const res = await fetch(`${cache.url}/v2/private/app/manifests/v1`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    assert.deepEqual(proxy.requests, []);
  });
});
