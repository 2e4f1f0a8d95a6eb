/**
 * Metrics of the real server under the homelab's access rules (acceptance scenario 10): Prometheus
 * scrapes `/metrics` without credentials because `accessControl.metrics.users` contains `""`; with
 * that entry gone the endpoint demands credentials.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { getBlob, getManifest, makeImage, pushContent } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

/** The homelab's shape, with htpasswd standing in for OpenID Connect. */
function homelabConfig(htpasswd: string, metricsUsers: string[]): Record<string, unknown> {
  return {
    storage: { gc: true, gcDelay: '1h', gcInterval: '24h' },
    http: {
      auth: { htpasswd: { path: htpasswd }, apikey: true },
      accessControl: {
        metrics: { users: metricsUsers },
        repositories: {
          '**': {
            policies: [{ groups: ['admins'], actions: ['read', 'create', 'update', 'delete'] }],
            anonymousPolicy: ['read'],
            defaultPolicy: ['read'],
          },
        },
      },
    },
    extensions: { metrics: { enable: true, prometheus: { path: '/metrics' } } },
  };
}

function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Waits for the GC sweep every server runs at start-up to finish. */
async function startupSweep(server: RunningServer): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!server.output().includes('gc: sweep finished')) {
    if (Date.now() > deadline) throw new Error(`no GC sweep finished:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('metrics under accessControl (real server)', () => {
  let work: string;
  let htpasswd: string;
  let root: string;
  const image = makeImage({ layerSizes: [5000] });
  const running: RunningServer[] = [];

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-metrics-'));
    htpasswd = path.join(work, 'htpasswd');
    await writeFile(
      htpasswd,
      `admin:${await bcrypt.hash('admin-pw', 5)}\nreader:${await bcrypt.hash('reader-pw', 5)}\n`,
    );
    // Content pushed through an open server first: anonymous callers may only read in the homelab.
    const open = await startBerth({ config: { storage: { gc: false } }, cleanup: false });
    root = open.root;
    await pushContent(open.url, 'library/app', image, '1.0');
    await open.stop();
  });

  after(async () => {
    for (const server of running) await server.stop();
    await rm(work, { recursive: true, force: true });
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  async function start(metricsUsers: string[]): Promise<RunningServer> {
    const server = await startBerth({ config: homelabConfig(htpasswd, metricsUsers), root, cleanup: false });
    running.push(server);
    return server;
  }

  it('answers an anonymous scraper with Prometheus text counting real traffic when users contains ""', async () => {
    const server = await start(['']);
    await startupSweep(server);
    assert.equal((await getManifest(server.url, 'library/app', '1.0')).status, 200);
    assert.deepEqual(
      await getBlob(server.url, 'library/app', image.layers[0]!.digest),
      image.layers[0]!.bytes,
    );
    assert.equal((await fetch(`${server.url}/v2/_catalog`)).status, 200);

    // A request is counted once its response closed on the server, a moment after the client read it.
    let text = '';
    for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      text = await res.text();
      if (sampleValue(text, 'zot_http_requests_total', { method: 'GET', code: '200' }) === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(sampleValue(text, 'zot_repo_downloads_total', { repo: 'library/app' }), 1);
    assert.equal(sampleValue(text, 'zot_http_requests_total', { method: 'GET', code: '200' }), 3);
    assert.equal(
      sampleValue(text, 'zot_repo_storage_bytes', { repo: 'library/app' }),
      image.manifest.size + image.config.size + image.layers[0]!.size,
    );
    assert.ok(
      sampleValue(text, 'zot_http_method_latency_seconds_bucket', { method: 'GET', le: '0.05' }) !==
        undefined,
    );
    assert.ok(
      sampleValue(text, 'zot_gc_runs_total', { error: 'false' }) !== undefined,
      'the start-up GC sweep is counted',
    );
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    await server.stop();
  });

  it('demands credentials from an anonymous scraper once "" is gone, and admits only the users named', async () => {
    const server = await start(['admin']);
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 401);
    assert.match(
      res.headers.get('www-authenticate') ?? '',
      /^Basic realm=/,
      'a challenge the scraper can answer',
    );
    const body = (await res.json()) as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'UNAUTHORIZED');
    const basic = (user: string, password: string) => ({
      Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });
    const admin = await fetch(`${server.url}/metrics`, { headers: basic('admin', 'admin-pw') });
    assert.equal(admin.status, 200);
    assert.match(await admin.text(), /^zot_info\{/m);
    const reader = await fetch(`${server.url}/metrics`, { headers: basic('reader', 'reader-pw') });
    assert.equal(reader.status, 403, 'a known user not named in metrics.users');
    assert.equal(
      (await getManifest(server.url, 'library/app', '1.0')).status,
      200,
      'anonymous pulls still work',
    );
    await server.stop();
  });
});
