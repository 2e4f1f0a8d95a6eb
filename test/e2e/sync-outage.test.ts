/**
 * The pull-through cache when its upstream misbehaves. The upstream is CNCF Distribution with
 * htpasswd (Basic) authentication, the credentials coming from `extensions.sync.credentialsFile`,
 * behind the recording proxy of test/support/token-server.ts, which can answer 429 or be stopped.
 * The cache revalidates tags on every pull (no `manifestCheckInterval`), so each pull of a cached
 * tag tries the upstream first.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  requireCommand,
  run,
  runOk,
  startDistribution,
  type Registry,
  type RunResult,
} from '../support/clients.js';
import {
  getBlob,
  getManifest,
  makeImage,
  pushContent,
  readOciLayout,
  sha256,
  type Image,
} from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { startUpstreamProxy, type UpstreamProxy } from '../support/token-server.js';

const TIMEOUT = { timeout: 300_000 };
const USER = 'mirror';
const PASSWORD = 'distribution-secret';

describe('pull-through cache with a Basic-auth upstream that fails', () => {
  let distribution: Registry;
  let proxy: UpstreamProxy;
  let cache: RunningServer;
  let work: string;
  let skopeoBin: string;
  let policy: string;
  const basic = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };

  const skopeoArgs = (repo: string, tag: string, dir: string): string[] => [
    '--policy',
    policy,
    'copy',
    '--preserve-digests',
    '--src-tls-verify=false',
    `docker://${cache.host}/${repo}:${tag}`,
    `oci:${dir}:${tag}`,
  ];
  const pull = async (repo: string, tag: string): Promise<string> => {
    const dir = await mkdtemp(path.join(work, 'pull-'));
    await runOk(skopeoBin, skopeoArgs(repo, tag, dir), { timeoutMs: 240_000 });
    return dir;
  };
  const tryPull = async (repo: string, tag: string): Promise<RunResult> =>
    run(skopeoBin, skopeoArgs(repo, tag, await mkdtemp(path.join(work, 'pull-'))), { timeoutMs: 240_000 });

  async function assertPulled(dir: string, tag: string, image: Image): Promise<void> {
    const layout = await readOciLayout(dir);
    assert.equal(layout.byTag(tag).digest, image.manifest.digest);
    for (const blob of image.blobs) assert.ok((await layout.blob(blob.digest)).equals(blob.bytes));
  }

  async function errorOf(res: Response): Promise<{ code: string; message: string }> {
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    const first = body.errors[0];
    assert.ok(first, JSON.stringify(body));
    return first;
  }

  const cached = makeImage({ layerSizes: [512 * 1024, 4096] });
  const manifestOnly = makeImage();
  const uncached = makeImage();

  before(async () => {
    skopeoBin = requireCommand('skopeo');
    work = await mkdtemp(path.join(tmpdir(), 'e2e-sync-outage-'));
    policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const htpasswd = path.join(work, 'htpasswd');
    await runOk(requireCommand('htpasswd'), ['-Bbc', htpasswd, USER, PASSWORD]);
    distribution = await startDistribution({ htpasswd });
    proxy = await startUpstreamProxy({ target: distribution.url });
    const credentialsFile = path.join(work, 'credentials.json');
    await writeFile(
      credentialsFile,
      JSON.stringify({ [proxy.host]: { username: USER, password: PASSWORD } }),
    );
    cache = await startBerth({
      config: {
        extensions: {
          sync: {
            credentialsFile,
            registries: [
              { urls: [proxy.url], onDemand: true, content: [{ prefix: '**', destination: '/up' }] },
            ],
          },
        },
      },
    });
    await pushContent(distribution.url, 'team/app', cached, 'v1', { headers: basic });
    await pushContent(distribution.url, 'team/partial', manifestOnly, 'v1', { headers: basic });
    await pushContent(distribution.url, 'team/other', uncached, 'v1', { headers: basic });
  });

  after(async () => {
    await cache?.stop();
    await proxy?.stop();
    await distribution?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('pulls through an upstream that wants Basic credentials', TIMEOUT, async () => {
    await assertPulled(await pull('up/team/app', 'v1'), 'v1', cached);
    // Cache only the manifest of another image: its blobs are fetched when asked for.
    assert.equal((await getManifest(cache.url, 'up/team/partial', 'v1')).status, 200);
    // One challenge, then the credentials go up front on every request.
    assert.deepEqual(
      proxy.requests.map((r) => r.status),
      [401, ...Array<number>(proxy.requests.length - 1).fill(200)],
    );
  });

  it(
    'serves the cached copy while the upstream answers 429, and 429 for what it does not hold',
    TIMEOUT,
    async () => {
      proxy.setMode('rate-limit');
      try {
        proxy.reset();
        await assertPulled(await pull('up/team/app', 'v1'), 'v1', cached);
        assert.equal(proxy.count('HEAD', /\/manifests\/v1$/), 1, 'the cache did not try to revalidate');

        const res = await fetch(`${cache.url}/v2/up/team/other/manifests/v1`);
        assert.equal(res.status, 429);
        const error = await errorOf(res);
        assert.equal(error.code, 'TOOMANYREQUESTS');
        assert.match(error.message, /rate-limited/);
        assert.match(cache.output(), /upstream unavailable: serving the cached copy/);
      } finally {
        proxy.setMode('forward');
      }
    },
  );

  it(
    'serves cached images while the upstream is down, and fails fast with a clear error otherwise',
    TIMEOUT,
    async () => {
      await proxy.stop();

      await assertPulled(await pull('up/team/app', 'v1'), 'v1', cached);

      const failed = await tryPull('up/team/other', 'v1');
      assert.notEqual(failed.code, 0, 'skopeo pulled an image the cache cannot have');
      assert.equal(failed.timedOut, false);
      assert.match(failed.stderr, /502/);

      const res = await fetch(`${cache.url}/v2/up/team/other/manifests/v1`);
      assert.equal(res.status, 502);
      const error = await errorOf(res);
      assert.match(error.message, /upstream unavailable/);
      assert.ok(error.message.includes(proxy.host), error.message);

      // A cached manifest whose blob was never fetched: that blob cannot be had now.
      const layer = manifestOnly.layers[0];
      assert.ok(layer);
      const blob = await fetch(`${cache.url}/v2/up/team/partial/blobs/${layer.digest}`);
      assert.equal(blob.status, 502);
      assert.match((await errorOf(blob)).message, /upstream unavailable/);

      // What is cached stays whole.
      for (const b of cached.blobs)
        assert.equal(sha256(await getBlob(cache.url, 'up/team/app', b.digest)), b.digest);
    },
  );
});
