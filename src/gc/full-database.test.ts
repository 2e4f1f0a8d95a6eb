/**
 * Issue 11, bug 1: a full disk killed the server on pulls alone (the pull-ledger flush threw
 * SQLITE_FULL from a timer, an uncaught exception). Background jobs now survive their failures:
 * logged, counted in `berth_background_job_failures_total{job}`, retried later. Here the metadata
 * database is made full (`max_page_count` clamped to its size) under a running server that then
 * serves anonymous pulls of many manifests: the flush fails, the server keeps answering.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeArtifact, pushContent } from '../../test/support/fixtures.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import { gcExtension } from './extension.js';
import { startTestApp, type TestApp } from './test-app.js';

const MANIFESTS = 80;

describe('a full metadata database', () => {
  let running: TestApp | undefined;
  after(async () => {
    await running?.close();
    if (running) await rm(running.root, { recursive: true, force: true });
  });

  it('fails the pull-ledger flush without killing the server, which logs, counts and keeps serving', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-full-'));
    const first = await startTestApp(
      { storage: { gc: true, gcDelay: '1h', gcInterval: '24h' } },
      {
        extensions: [gcExtension()],
        root,
      },
    );
    const digests: string[] = [];
    for (let i = 0; i < MANIFESTS; i++) {
      const artifact = makeArtifact({ annotations: { n: String(i) }, payload: 'same payload' });
      await pushContent(first.url, 'full/app', artifact);
      digests.push(artifact.manifest.digest);
    }
    await first.close();
    // Reopen the same data with the database unable to grow by one page.
    const t = await startTestApp(
      { storage: { gc: true, gcDelay: '1h', gcInterval: '24h' } },
      { extensions: [gcExtension()], root, sqlitePragmas: ['max_page_count = 1'] },
    );
    running = t;
    for (const digest of digests) {
      const res = await fetch(`${t.url}/v2/full/app/manifests/${digest}`, {
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    const failures = async (): Promise<number> => {
      const metric = await metricsFor(t.app.registry).backgroundJobFailures.get();
      return metric.values.find((v) => v.labels.job === 'pull-ledger-flush')?.value ?? 0;
    };
    // The flush runs every 5 s; wait (bounded) until it has failed twice: it was retried.
    for (let waited = 0; (await failures()) < 2; waited += 200) {
      assert.ok(waited < 30_000, 'the flush never failed');
      await sleep(200);
    }
    const logged = t.logs().filter((l) => l.job === 'pull-ledger-flush' && l.level === 50);
    assert.ok(logged.length >= 2, 'each failure is logged as an error');
    assert.match(JSON.stringify(logged[0]), /SQLITE_FULL|full/);
    // Still serving: pulls, the catalog, health.
    const again = await fetch(`${t.url}/v2/full/app/manifests/${digests[0]}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(again.status, 200);
    assert.equal((await fetch(`${t.url}/v2/_catalog`)).status, 200);
    assert.equal((await fetch(`${t.url}/livez`)).status, 200);
  });
});
