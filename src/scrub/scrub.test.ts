/**
 * Scrub on real stored images, with corruption planted on disk the way a failing disk or a careless
 * hand would leave it.
 */
import assert from 'node:assert/strict';
import { rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { digestHex, makeImage, makeIndex, pushContent } from '../../test/support/fixtures.js';
import { parseConfig } from '../config/index.js';
import { startTestApp, type TestApp } from '../gc/test-app.js';
import { openAccess } from '../http/access.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import { onDemandRepositories, scrubExtension } from './extension.js';
import { scrubStore, type ScrubReport } from './scrub.js';

let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

function blobFile(root: string, repo: string, digest: string): string {
  return path.join(root, repo, 'blobs', 'sha256', digestHex(digest));
}

describe('scrub', () => {
  it('finds corrupt and missing content, per repository, and nothing in healthy ones', async () => {
    const t = await startTestApp({}, { extensions: [] });
    running = t;
    const healthy = makeIndex();
    const damaged = makeImage({ layerSizes: [4000, 1000] });
    const multi = makeIndex();
    await pushContent(t.url, 'good', healthy, 'v1');
    await pushContent(t.url, 'bad/image', damaged, 'v1');
    await pushContent(t.url, 'bad/index', multi, 'v1');

    // A layer whose bytes changed, a config that vanished, a child manifest cut short.
    const layer = damaged.layers[0]!;
    await writeFile(blobFile(t.root, 'bad/image', layer.digest), Buffer.alloc(layer.size, 7));
    await rm(blobFile(t.root, 'bad/image', damaged.config.digest));
    const child = multi.manifests[0]!;
    await truncate(blobFile(t.root, 'bad/index', child.digest), 10);

    const report = await scrubStore({ registry: t.app.registry, log: t.app.log });
    const problems = report.problems.map((p) => [p.repo, p.kind, p.digest, p.referencedBy]).sort();
    assert.deepEqual(
      problems,
      [
        ['bad/image', 'corrupt', layer.digest, undefined],
        ['bad/image', 'missing', damaged.config.digest, damaged.manifest.digest],
        ['bad/index', 'corrupt', child.digest, undefined],
      ].sort(),
    );
    assert.deepEqual(report.repositories.find((r) => r.repo === 'good')?.problems, []);
    const good = report.repositories.find((r) => r.repo === 'good')!;
    assert.equal(
      good.checked,
      healthy.blobs.length + healthy.manifests.length + 1,
      'every blob and manifest was re-hashed',
    );
    assert.match(
      report.problems.find((p) => p.kind === 'corrupt' && p.repo === 'bad/image')!.detail,
      /hashes to sha256:/,
    );
  });

  it('reports a manifest index.json names that is gone, and an index.json that does not parse', async () => {
    const t = await startTestApp({}, { extensions: [] });
    running = t;
    const image = makeImage();
    await pushContent(t.url, 'lost', image, 'v1');
    await pushContent(t.url, 'garbled', makeImage(), 'v1');
    await rm(blobFile(t.root, 'lost', image.manifest.digest));
    await writeFile(path.join(t.root, 'garbled', 'index.json'), 'not json');
    const report = await scrubStore({ registry: t.app.registry, log: t.app.log });
    const byRepo = Object.fromEntries(
      report.repositories.map((r) => [
        r.repo,
        r.problems.map((p) => [p.kind, p.digest ?? 'index.json', p.referencedBy]),
      ]),
    );
    assert.deepEqual(byRepo.lost, [['missing', image.manifest.digest, 'index.json']]);
    assert.deepEqual(byRepo.garbled, [['unreadable', 'index.json', undefined]]);
  });

  it('counts layers a pull-through cache has not fetched yet without calling them missing', async () => {
    const { config } = parseConfig(
      {
        storage: { rootDirectory: '/x' },
        extensions: {
          sync: {
            registries: [
              {
                urls: ['https://registry-1.docker.io'],
                onDemand: true,
                content: [{ prefix: '**', destination: '/docker.io' }],
              },
            ],
          },
        },
      },
      { baseDir: '/' },
    );
    const onDemand = onDemandRepositories(config);
    assert.deepEqual(
      [onDemand('docker.io/library/nginx'), onDemand('docker.io'), onDemand('team/app')],
      [true, true, false],
    );

    const t = await startTestApp({}, { extensions: [] });
    running = t;
    const image = makeImage();
    await pushContent(t.url, 'docker.io/library/nginx', image, '1.27');
    await rm(blobFile(t.root, 'docker.io/library/nginx', image.layers[0]!.digest));
    const report = await scrubStore({ registry: t.app.registry, log: t.app.log, onDemand });
    assert.deepEqual(report.problems, []);
    assert.equal(report.repositories[0]?.notCached, 1);
  });

  it('runs every extensions.scrub.interval in the background, logging and counting what it found', async (t: TestContext) => {
    const app = await startTestApp({ extensions: { scrub: { interval: '3h' } } }, { extensions: [] });
    running = app;
    const image = makeImage();
    await pushContent(app.url, 'repo', image, 'v1');
    await writeFile(blobFile(app.root, 'repo', image.config.digest), '{"tampered":true}');

    let done!: (report: ScrubReport) => void;
    const scrubbed = new Promise<ScrubReport>((resolve) => (done = resolve));
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const extension = (await scrubExtension({ onScrub: done })({ ...app.app, access: openAccess }))!;
    await extension.start?.();
    t.mock.timers.tick(3 * 3_600_000);
    t.mock.timers.reset();
    const report = await scrubbed;
    await extension.stop?.();

    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.digest]),
      [['corrupt', image.config.digest]],
    );
    const metrics = metricsFor(app.app.registry);
    assert.equal(
      (await metrics.scrubProblems.get()).values.find((v) => v.labels.kind === 'corrupt')?.value,
      1,
    );
    assert.equal(
      (await metrics.scrubRuns.get()).values.find((v) => v.labels.result === 'problems')?.value,
      1,
    );
    assert.ok(app.logs().some((l) => l.msg === 'scrub: problems found'));
  });
});
