/**
 * The metrics endpoint, scraped and parsed after real traffic through an in-process Berth.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { getBlob, getManifest, makeImage, pushContent } from '../../test/support/fixtures.js';
import { ANONYMOUS, type Identity } from '../auth/identity.js';
import { parseConfig } from '../config/index.js';
import { startTestApp, type TestApp } from '../gc/test-app.js';
import { defaultScrapePolicy, metricsExtension } from './extension.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (what a Prometheus server reads). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

async function scrape(url: string, metricsPath = '/metrics'): Promise<Sample[]> {
  const res = await fetch(url + metricsPath);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/**
 * Scrapes until `requests` requests have been counted: a request is counted when its response has
 * closed on the server, which may be a moment after the client has read it.
 */
async function scrapeAfter(url: string, requests: number): Promise<Sample[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const samples = await scrape(url);
    const counted = value(samples, 'zot_http_requests_total') ?? 0;
    if (counted >= requests || Date.now() > deadline) return samples;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(raw: Record<string, unknown>): Promise<TestApp> {
  running = await startTestApp(raw, { extensions: [metricsExtension()] });
  return running;
}

describe('metrics', () => {
  it('counts requests, latencies, downloads, uploads and storage per repository after real traffic', async () => {
    const t = await start({ extensions: { metrics: { enable: true } } });
    const image = makeImage({ layerSizes: [3000] });
    await pushContent(t.url, 'team/app', image, 'v1');
    assert.equal((await getManifest(t.url, 'team/app', 'v1')).status, 200);
    assert.equal((await getManifest(t.url, 'team/app', image.manifest.digest)).status, 200);
    await getBlob(t.url, 'team/app', image.layers[0]!.digest);
    assert.equal((await fetch(`${t.url}/v2/made-up/manifests/latest`)).status, 404);

    const samples = await scrapeAfter(t.url, 9);
    // Pushing: POST + PUT per blob (config, layer), PUT of the manifest.
    assert.equal(value(samples, 'zot_http_requests_total', { method: 'POST', code: '202' }), 2);
    assert.equal(value(samples, 'zot_http_requests_total', { method: 'PUT', code: '201' }), 3);
    assert.equal(value(samples, 'zot_http_requests_total', { method: 'GET', code: '200' }), 3);
    assert.equal(value(samples, 'zot_http_requests_total', { method: 'GET', code: '404' }), 1);
    assert.equal(value(samples, 'zot_http_method_latency_seconds_count', { method: 'PUT' }), 3);
    assert.equal(value(samples, 'zot_http_method_latency_seconds_bucket', { method: 'GET', le: '+Inf' }), 4);
    assert.equal(value(samples, 'zot_http_method_latency_seconds_bucket', { method: 'GET', le: '600' }), 4);
    assert.equal(value(samples, 'zot_repo_downloads_total', { repo: 'team/app' }), 2);
    assert.equal(value(samples, 'zot_repo_uploads_total', { repo: 'team/app' }), 1);
    assert.equal(
      value(samples, 'zot_repo_storage_bytes', { repo: 'team/app' }),
      image.manifest.size + image.config.size + image.layers[0]!.size,
    );
    assert.equal(value(samples, 'zot_http_repo_latency_seconds_count', { repo: 'team/app' }), 8);
    assert.equal(
      value(samples, 'zot_http_repo_latency_seconds_count', { repo: 'N/A' }),
      1,
      'made-up names get no series',
    );
    assert.equal(
      samples.some((s) => s.labels.repo === 'made-up'),
      false,
    );
    assert.equal(
      value(samples, 'berth_http_request_duration_seconds_count', {
        method: 'PUT',
        route: 'manifest',
        code: '201',
      }),
      1,
    );
    assert.ok(
      (value(samples, 'berth_http_received_bytes_total', { route: 'upload' }) ?? 0) > image.layers[0]!.size,
    );
    assert.ok(
      (value(samples, 'berth_http_sent_bytes_total', { route: 'blob' }) ?? 0) > image.layers[0]!.size,
    );
    assert.equal(value(samples, 'zot_info', { binaryType: 'berth' }), 1);
    assert.ok((value(samples, 'process_cpu_seconds_total') ?? 0) > 0, 'process metrics are exported');
    assert.ok(value(samples, 'nodejs_heap_size_used_bytes') !== undefined);

    // Scrapes are not requests the metrics count.
    const again = await scrape(t.url);
    assert.equal(value(again, 'zot_http_requests_total', { method: 'GET', code: '200' }), 3);
  });

  it('serves under the configured path, as a prefix, and nowhere else', async () => {
    const t = await start({ extensions: { metrics: { prometheus: { path: '/internal/prom' } } } });
    await scrape(t.url, '/internal/prom');
    await scrape(t.url, '/internal/prom/anything');
    assert.equal((await fetch(`${t.url}/metrics`)).status, 404);
    assert.equal((await fetch(`${t.url}/internal/prometheus`)).status, 404);
    const head = await fetch(`${t.url}/internal/prom`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('is absent when the extension is disabled', async () => {
    const t = await start({ extensions: { metrics: { enable: false } } });
    assert.equal((await fetch(`${t.url}/metrics`)).status, 404);
  });

  it('keeps the counts of two apps in one process apart', async () => {
    const a = await startTestApp({ extensions: { metrics: {} } }, { extensions: [metricsExtension()] });
    try {
      const b = await start({ extensions: { metrics: {} } });
      await pushContent(a.url, 'only-in-a', makeImage(), 'v1');
      const samples = await scrape(b.url);
      assert.equal(value(samples, 'zot_repo_uploads_total'), undefined);
      assert.equal(value(await scrape(a.url), 'zot_repo_uploads_total', { repo: 'only-in-a' }), 1);
    } finally {
      await a.close();
    }
  });

  describe('access (accessControl.metrics)', () => {
    let dir: string | undefined;
    afterEach(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    });

    async function configWith(
      metrics: Record<string, unknown> | undefined,
    ): Promise<Record<string, unknown>> {
      dir = await mkdtemp(path.join(tmpdir(), 'berth-metrics-'));
      const htpasswd = path.join(dir, 'htpasswd');
      await writeFile(htpasswd, 'bob:$2y$05$invalidinvalidinvalidinvalidinvalidinvalidinvalidinv\n');
      return {
        http: {
          auth: { htpasswd: { path: htpasswd } },
          accessControl: {
            ...(metrics ? { metrics } : {}),
            repositories: { '**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] } },
          },
        },
        extensions: { metrics: { enable: true, prometheus: { path: '/metrics' } } },
      };
    }

    it('answers an anonymous scraper when metrics.users contains "" (the homelab’s config)', async () => {
      const t = await start(await configWith({ users: [''] }));
      await scrape(t.url);
    });

    it('answers an anonymous scraper when metrics.anonymousPolicy has read (zot since June 2026)', async () => {
      const t = await start(await configWith({ users: ['bob'], anonymousPolicy: ['read'] }));
      await scrape(t.url);
    });

    it('demands credentials (401) from an anonymous scraper once "" is gone', async () => {
      for (const metrics of [{ users: ['bob'] }, undefined]) {
        const t = await start(await configWith(metrics));
        const res = await fetch(`${t.url}/metrics`);
        assert.equal(res.status, 401);
        const body = (await res.json()) as { errors: { code: string }[] };
        assert.equal(body.errors[0]?.code, 'UNAUTHORIZED');
        await running?.close();
        running = undefined;
      }
    });

    it('admits exactly the authenticated users metrics.users names', async () => {
      const bob: Identity = { username: 'bob', groups: ['admins'], method: 'htpasswd' };
      const eve: Identity = { username: 'eve', groups: ['admins'], method: 'htpasswd' };
      const raw = { ...(await configWith({ users: ['', 'bob'] })), storage: { rootDirectory: '/x' } };
      const { config } = parseConfig(raw, { baseDir: '/' });
      const canScrape = defaultScrapePolicy(config);
      assert.deepEqual([canScrape(bob), canScrape(eve), canScrape(ANONYMOUS)], [true, false, true]);
      const open = defaultScrapePolicy(
        parseConfig({ storage: { rootDirectory: '/x' } }, { baseDir: '/' }).config,
      );
      assert.equal(open(ANONYMOUS), true, 'without authentication and accessControl anyone may scrape');
    });
  });
});
