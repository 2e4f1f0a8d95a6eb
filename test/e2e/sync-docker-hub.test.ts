/**
 * Pull-through behaviour that needs the app built in this process, with the sync extension's
 * options: Docker Hub's naming (the upstream is configured as `http://docker.io:PORT`, and name
 * resolution sends Docker Hub's registry host to a loopback upstream: no test traffic leaves the
 * machine), a short stall timeout against an upstream that accepts and never answers, and the
 * Prometheus counters as `/metrics` serves them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { buildApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { metricsExtension } from '../../src/metrics/extension.js';
import { createSyncExtension } from '../../src/sync/index.js';
import { requireCommand, runOk } from '../support/clients.js';
import { getBlob, getManifest, makeImage, pushContent, readOciLayout, sha256 } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { startUpstreamProxy, type UpstreamProxy } from '../support/token-server.js';

const TIMEOUT = { timeout: 300_000 };

/** Resolves Docker Hub's registry host to loopback and refuses every other name. */
const hubOnLoopback = ((
  hostname: string,
  options: { all?: boolean },
  callback: (...args: unknown[]) => void,
) => {
  if (hostname !== 'registry-1.docker.io') {
    callback(
      Object.assign(new Error(`test resolver: ${hostname} is not resolvable here`), { code: 'ENOTFOUND' }),
    );
    return;
  }
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

describe('pull-through cache of Docker Hub names, stalls and metrics (in process)', () => {
  let upstream: RunningServer;
  let hub: UpstreamProxy;
  let stuck: UpstreamProxy;
  let app: App;
  let url: string;
  let host: string;
  let work: string;
  const alpine = makeImage();
  const redis = makeImage();

  /** The value of one sample line of `/metrics`, 0 when absent. */
  const sample = async (prefix: string): Promise<number> => {
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    const line = (await res.text()).split('\n').find((l) => l.startsWith(`${prefix} `));
    return line === undefined ? 0 : Number(line.slice(prefix.length + 1));
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-sync-hub-'));
    upstream = await startBerth();
    hub = await startUpstreamProxy({ target: upstream.url, tokenAuth: {} });
    stuck = await startUpstreamProxy({ target: upstream.url });
    const { config } = parseConfig(
      {
        distSpecVersion: '1.1.0',
        storage: { rootDirectory: path.join(work, 'data') },
        http: { address: '127.0.0.1', port: '0' },
        log: { level: 'info' },
        extensions: {
          metrics: { enable: true },
          sync: {
            registries: [
              {
                urls: [`http://docker.io:${hub.port}`],
                onDemand: true,
                content: [{ prefix: '**', destination: '/docker.io' }],
              },
              { urls: [stuck.url], onDemand: true, content: [{ prefix: '**', destination: '/stuck' }] },
            ],
          },
        },
      },
      { baseDir: work },
    );
    const log = pino({ level: 'silent' });
    app = await buildApp(config, log, {
      extensions: [metricsExtension(), createSyncExtension({ lookup: hubOnLoopback, stallTimeoutMs: 1_000 })],
    });
    const address = await app.listen();
    url = `http://127.0.0.1:${address.port}`;
    host = `127.0.0.1:${address.port}`;
  });

  after(async () => {
    await app?.close(1_000);
    await hub?.stop();
    await stuck?.stop();
    await upstream?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it(
    'maps single-segment Docker Hub names under library/, and leaves the others alone',
    TIMEOUT,
    async () => {
      await pushContent(upstream.url, 'library/alpine', alpine, '3.20');
      await pushContent(upstream.url, 'bitnami/redis', redis, '7');
      hub.reset();

      // skopeo pulls docker.io/alpine through the cache, as a node would pull `alpine:3.20`.
      const work2 = await mkdtemp(path.join(work, 'pull-'));
      const policy = path.join(work2, 'policy.json');
      await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      await runOk(requireCommand('skopeo'), [
        '--policy',
        policy,
        'copy',
        '--src-tls-verify=false',
        `docker://${host}/docker.io/alpine:3.20`,
        `oci:${work2}/layout:3.20`,
      ]);
      assert.equal((await readOciLayout(`${work2}/layout`)).byTag('3.20').digest, alpine.manifest.digest);
      assert.equal(
        hub.count('GET', /^\/v2\/library\/alpine\/manifests\/3\.20$/),
        1,
        JSON.stringify(hub.requests),
      );
      assert.deepEqual(
        hub.tokenRequests.map((t) => t.scope),
        ['repository:library/alpine:pull'],
      );

      const official = await getManifest(url, 'docker.io/library/alpine', '3.20');
      assert.equal(official.digestHeader, alpine.manifest.digest);
      assert.equal(hub.count('GET', /^\/v2\/library\/library\//), 0);
      assert.equal(
        hub.count('GET', /^\/v2\/library\/alpine\/manifests\/3\.20$/),
        2,
        'a separate local repository, fetched once more',
      );
      // ... whose blobs are linked from docker.io/alpine, not downloaded again.
      for (const blob of alpine.blobs) {
        assert.equal(sha256(await getBlob(url, 'docker.io/library/alpine', blob.digest)), blob.digest);
        assert.equal(hub.count('GET', new RegExp(`/blobs/${blob.digest}$`)), 1);
      }

      const other = await getManifest(url, 'docker.io/bitnami/redis', '7');
      assert.equal(other.digestHeader, redis.manifest.digest);
      assert.equal(hub.count('GET', /^\/v2\/bitnami\/redis\/manifests\/7$/), 1);
    },
  );

  it('gives up on an upstream that stalls: cached content is served, the rest is 504', TIMEOUT, async () => {
    const image = makeImage();
    await pushContent(upstream.url, 'team/app', image, 'v1');
    await pushContent(upstream.url, 'team/app', makeImage(), 'v2');
    assert.equal((await getManifest(url, 'stuck/team/app', 'v1')).status, 200);

    stuck.setMode('stall');
    const cached = await getManifest(url, 'stuck/team/app', 'v1');
    assert.equal(cached.status, 200);
    assert.equal(cached.digestHeader, image.manifest.digest);

    const res = await fetch(`${url}/v2/stuck/team/app/manifests/v2`);
    assert.equal(res.status, 504);
    const body = (await res.json()) as { errors: { message: string }[] };
    assert.match(body.errors[0]?.message ?? '', /timed out/);
  });

  it('counts hits, misses, upstream bytes and upstream errors per upstream', TIMEOUT, async () => {
    const hubName = `docker.io:${hub.port}`;
    assert.ok((await sample(`berth_sync_cache_misses_total{upstream="${hubName}",kind="manifest"}`)) >= 3);
    assert.ok((await sample(`berth_sync_cache_misses_total{upstream="${hubName}",kind="blob"}`)) >= 2);
    assert.ok(
      (await sample(`berth_sync_upstream_bytes_total{upstream="${hubName}"}`)) > alpine.manifest.size,
    );
    assert.ok(
      (await sample(`berth_sync_upstream_errors_total{upstream="${stuck.host}",reason="timeout"}`)) >= 1,
    );
    assert.ok((await sample(`berth_sync_stale_served_total{upstream="${stuck.host}"}`)) >= 1);

    const hits = `berth_sync_cache_hits_total{upstream="${hubName}",kind="manifest"}`;
    const before = await sample(hits);
    assert.equal((await getManifest(url, 'docker.io/alpine', alpine.manifest.digest)).status, 200);
    assert.equal(await sample(hits), before + 1);

    // Blob hits are counted when the request has finished on the server's side.
    const blobHits = `berth_sync_cache_hits_total{upstream="${hubName}",kind="blob"}`;
    const blobsBefore = await sample(blobHits);
    const layer = alpine.layers[0];
    assert.ok(layer);
    assert.equal(sha256(await getBlob(url, 'docker.io/alpine', layer.digest)), layer.digest);
    for (let i = 0; i < 100 && (await sample(blobHits)) === blobsBefore; i++) await sleep(20);
    assert.equal(await sample(blobHits), blobsBefore + 1);
  });
});
