/**
 * Garbage collection on real stored images: pushed through the HTTP API of an in-process Berth,
 * then aged by moving the collector's clock (never by sleeping), then collected.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  descriptorOf,
  digestHex,
  getBlob,
  getManifest,
  makeArtifact,
  makeImage,
  makeIndex,
  makeLayer,
  pushContent,
  uploadBlob,
  type Content,
} from '../../test/support/fixtures.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import { GarbageCollector } from './collector.js';
import { gcExtension, type GcExtension } from './extension.js';
import type { SweepReport } from './report.js';
import { RetentionPolicies } from './retention.js';
import { HOUR, startTestApp, TestClock, type TestApp } from './test-app.js';

let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(
  storage: Record<string, unknown> = {},
): Promise<{ t: TestApp; clock: TestClock; gc: GcExtension }> {
  const clock = new TestClock();
  const t = await startTestApp(
    { storage: { gc: true, gcDelay: '1h', gcInterval: '24h', ...storage } },
    { extensions: [gcExtension({ now: clock.now, manual: true })] },
  );
  running = t;
  const gc = t.app.extensions.find((e) => e.name === 'gc') as GcExtension;
  return { t, clock, gc };
}

/** A collector of the test app's store that only reports (`gc --dry-run`), gcDelay one hour. */
function dryRunCollector(t: TestApp, clock: TestClock): GarbageCollector {
  return new GarbageCollector({
    registry: t.app.registry,
    log: t.app.log,
    delayMs: HOUR,
    retention: new RetentionPolicies(t.app.config.storage.retention, HOUR),
    now: clock.now,
    dryRun: true,
  });
}

function blobPath(root: string, repo: string, digest: string): string {
  return path.join(root, repo, 'blobs', 'sha256', digestHex(digest));
}

/** Makes a file look written `ms` ago, as the sweep (which reads its mtime) will see it. */
async function ageFile(file: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(file, then, then);
}

/** Uploads a blob as POST, one PATCH with every byte, and a PUT without a body. */
async function uploadInChunks(
  url: string,
  repo: string,
  blob: { digest: string; bytes: Buffer },
): Promise<void> {
  const post = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(post.status, 202);
  const location = new URL(post.headers.get('location')!, url);
  const patch = await fetch(location, {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream' },
    body: blob.bytes,
  });
  assert.equal(patch.status, 202);
  const next = new URL(patch.headers.get('location')!, url);
  next.searchParams.set('digest', blob.digest);
  assert.equal((await fetch(next, { method: 'PUT' })).status, 201);
}

/** Every digest of a piece of content: its blobs, child manifests and the manifest. */
function digestsOf(content: Content): string[] {
  return [...content.blobs, ...content.manifests, content.manifest].map((b) => b.digest);
}

async function indexDigests(root: string, repo: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(path.join(root, repo, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  return doc.manifests.map((d) => d.digest);
}

async function expectPullable(url: string, repo: string, reference: string, content: Content): Promise<void> {
  const manifest = await getManifest(url, repo, reference);
  assert.equal(manifest.status, 200, `${repo}:${reference} must still be served`);
  for (const blob of [...content.blobs, ...content.manifests]) {
    if (content.manifests.includes(blob)) {
      assert.equal((await getManifest(url, repo, blob.digest)).status, 200);
    } else {
      assert.deepEqual(await getBlob(url, repo, blob.digest), blob.bytes);
    }
  }
}

describe('garbage collection', () => {
  it('keeps an untagged manifest younger than gcDelay and collects it, with its own blobs, once older', async () => {
    const { t, clock, gc } = await start();
    const base = makeLayer({ size: 2048 });
    const kept = makeImage({ layers: [base, makeLayer()] });
    const dropped = makeImage({ layers: [base, makeLayer({ size: 4096 })] });
    await pushContent(t.url, 'app', kept, 'v1');
    await pushContent(t.url, 'app', dropped); // by digest: untagged

    const young = await gc.sweepNow();
    assert.deepEqual(young.repositories, [], 'nothing is older than gcDelay yet');
    assert.equal((await getManifest(t.url, 'app', dropped.manifest.digest)).status, 200);

    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    assert.equal(report.repositories.length, 1);
    const app = report.repositories[0]!;
    assert.deepEqual(
      app.manifests.map((m) => [m.digest, m.reason]),
      [[dropped.manifest.digest, 'untagged']],
    );
    const unique = [dropped.manifest, dropped.config, dropped.layers[1]!].map((b) => b.digest).sort();
    assert.deepEqual(app.blobs.map((b) => b.digest).sort(), unique, 'the shared base layer stays');
    assert.equal(app.freedBytes, dropped.manifest.size + dropped.config.size + dropped.layers[1]!.size);

    assert.equal((await getManifest(t.url, 'app', dropped.manifest.digest)).status, 404);
    for (const digest of unique) assert.equal(existsSync(blobPath(t.root, 'app', digest)), false);
    await expectPullable(t.url, 'app', 'v1', kept);
    assert.deepEqual(await indexDigests(t.root, 'app'), [kept.manifest.digest]);
  });

  it('forgets the pull time of a manifest deleted through the API, though the pull was written after the delete', async () => {
    const { t, gc } = await start();
    const gone = makeImage();
    const kept = makeImage();
    await pushContent(t.url, 'pulled', gone, 'old');
    await pushContent(t.url, 'pulled', kept, 'new');
    // Both pulls wait in the pull ledger's buffer; the delete comes before they are written.
    assert.equal((await getManifest(t.url, 'pulled', 'old')).status, 200);
    assert.equal((await getManifest(t.url, 'pulled', 'new')).status, 200);
    const del = await fetch(`${t.url}/v2/pulled/manifests/${gone.manifest.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    // The sweep flushes the ledger first (writing the deleted manifest's pull), then purges it.
    const report = await gc.sweepNow();
    assert.equal(report.orphanRows, 1);
    assert.deepEqual([...(await t.app.meta.pullTimes.lastPulls('pulled')).keys()], [kept.manifest.digest]);
  });

  it('forgets recent-blob records once older than both gcDelay and the retention delay, and keeps younger ones', async () => {
    const { t, clock, gc } = await start({ retention: { delay: '3h' } });
    const recent = t.app.meta.recentBlobs;
    const at = (hoursAgo: number): number => clock.now() - hoursAgo * HOUR;
    await recent.record([{ repo: 'r', digest: `sha256:${'a'.repeat(64)}`, at: at(3.5) }]);
    await recent.record([{ repo: 'r', digest: `sha256:${'b'.repeat(64)}`, at: at(2.5) }]);
    await recent.record([{ repo: 'r', digest: `sha256:${'c'.repeat(64)}`, at: at(0.5) }]);
    await gc.sweepNow();
    assert.equal(await recent.storedAt('r', `sha256:${'a'.repeat(64)}`), undefined, 'older than 3h');
    assert.notEqual(
      await recent.storedAt('r', `sha256:${'b'.repeat(64)}`),
      undefined,
      'within the retention delay',
    );
    assert.notEqual(await recent.storedAt('r', `sha256:${'c'.repeat(64)}`), undefined);
    // gcDelay alone (1h): a record of 1.5 hours can spare nothing any more.
    running = undefined;
    await t.close();
    const plain = await start();
    await plain.t.app.meta.recentBlobs.record([
      { repo: 'r', digest: `sha256:${'d'.repeat(64)}`, at: plain.clock.now() - 1.5 * HOUR },
    ]);
    await plain.gc.sweepNow();
    assert.equal(await plain.t.app.meta.recentBlobs.storedAt('r', `sha256:${'d'.repeat(64)}`), undefined);
  });

  it('collects the image a tag moved away from, and never a tagged image', async () => {
    const { t, clock, gc } = await start();
    const first = makeImage();
    const second = makeImage();
    await pushContent(t.url, 'web', first, 'latest');
    await pushContent(t.url, 'web', second, 'latest');
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    assert.deepEqual(
      report.repositories[0]?.manifests.map((m) => m.digest),
      [first.manifest.digest],
    );
    await expectPullable(t.url, 'web', 'latest', second);
    for (const digest of digestsOf(first)) assert.equal(existsSync(blobPath(t.root, 'web', digest)), false);
  });

  it('keeps the children of a tagged index, and collects index and children together once untagged', async () => {
    const { t, clock, gc } = await start();
    const index = makeIndex();
    await pushContent(t.url, 'multi', index, 'v1');
    clock.advance(2 * HOUR);
    assert.deepEqual((await gc.sweepNow()).repositories, [], 'children are referenced by the tagged index');
    await expectPullable(t.url, 'multi', 'v1', index);

    const del = await fetch(`${t.url}/v2/multi/manifests/v1`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const report = await gc.sweepNow();
    const removed = report.repositories[0]!.manifests.map((m) => m.digest).sort();
    assert.deepEqual(removed, [index.manifest, ...index.manifests].map((m) => m.digest).sort());
    assert.equal(report.repositories[0]!.repositoryRemoved, true, 'nothing is left in the repository');
  });

  it('keeps a referrer whose subject is gone unless retention says deleteReferrers', async () => {
    for (const deleteReferrers of [false, true]) {
      const { t, clock, gc } = await start({
        retention: { policies: [{ repositories: ['**'], deleteReferrers, deleteUntagged: true }] },
      });
      const image = makeImage();
      const signature = makeArtifact({ subject: descriptorOf(image.manifest) });
      await pushContent(t.url, 'signed', image, 'v1');
      await pushContent(t.url, 'signed', signature);
      const del = await fetch(`${t.url}/v2/signed/manifests/${image.manifest.digest}`, { method: 'DELETE' });
      assert.equal(del.status, 202);
      clock.advance(2 * HOUR);
      const report = await gc.sweepNow();
      const removed = report.repositories[0]?.manifests.map((m) => [m.digest, m.reason]) ?? [];
      if (deleteReferrers) {
        assert.deepEqual(removed, [[signature.manifest.digest, 'referrer']]);
        assert.equal((await getManifest(t.url, 'signed', signature.manifest.digest)).status, 404);
      } else {
        assert.deepEqual(removed, [], 'a referrer is never untagged garbage');
        assert.equal((await getManifest(t.url, 'signed', signature.manifest.digest)).status, 200);
        for (const blob of signature.blobs)
          assert.deepEqual(await getBlob(t.url, 'signed', blob.digest), blob.bytes);
      }
      await running?.close();
      running = undefined;
    }
  });

  it('removes an abandoned upload session once idle longer than gcDelay, never before', async () => {
    const { t, clock, gc } = await start();
    const post = await fetch(`${t.url}/v2/uploads/blobs/uploads/`, { method: 'POST' });
    assert.equal(post.status, 202);
    const location = new URL(post.headers.get('location')!, t.url);
    const patch = await fetch(location, {
      method: 'PATCH',
      body: Buffer.alloc(1000, 1),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(patch.status, 202);

    assert.deepEqual((await gc.sweepNow()).repositories, []);
    assert.equal((await fetch(location)).status, 204, 'the session is still there');

    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    assert.deepEqual(
      report.repositories[0]?.uploads.map((u) => u.size),
      [1000],
    );
    assert.equal((await fetch(location)).status, 404);
  });

  it('collects blobs uploaded for a manifest that never came, even in a repository without index.json', async () => {
    const { t, clock, gc } = await start();
    const orphan = makeLayer();
    await uploadBlob(t.url, 'never-pushed', orphan);
    assert.equal(existsSync(path.join(t.root, 'never-pushed', 'index.json')), false);
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    assert.deepEqual(
      report.repositories[0]?.blobs.map((b) => b.digest),
      [orphan.digest],
    );
    assert.equal(existsSync(blobPath(t.root, 'never-pushed', orphan.digest)), false);
  });

  it('removes one repository’s link to a deduplicated blob without touching the others', async () => {
    const { t, clock, gc } = await start();
    const image = makeImage({ layerSizes: [8192] });
    await pushContent(t.url, 'one', image, 'v1');
    await pushContent(t.url, 'two', image, 'v1');
    const layer = image.layers[0]!;
    const [a, b] = await Promise.all([
      stat(blobPath(t.root, 'one', layer.digest)),
      stat(blobPath(t.root, 'two', layer.digest)),
    ]);
    assert.equal(a.ino, b.ino, 'dedupe hard-linked the layer');

    assert.equal((await fetch(`${t.url}/v2/one/manifests/v1`, { method: 'DELETE' })).status, 202);
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    const one = report.repositories.find((r) => r.repo === 'one')!;
    assert.equal(one.blobs.length, 3);
    assert.ok(
      one.blobs.every((blob) => !blob.freed),
      'repository two still holds every blob',
    );
    assert.equal(one.freedBytes, 0);
    await expectPullable(t.url, 'two', 'v1', image);
    assert.equal((await stat(blobPath(t.root, 'two', layer.digest))).nlink, 1);
  });

  it('counts a blob that several repositories drop as freed once, in a dry run and in a sweep', async () => {
    const { t, clock, gc } = await start();
    const image = makeImage({ layerSizes: [8192] });
    const imageBytes = image.manifest.size + image.config.size + image.layers[0]!.size;
    const repos = ['alpha', 'one', 'three', 'two'];
    for (const repo of repos) {
      await pushContent(t.url, repo, image, 'v1');
      assert.equal((await fetch(`${t.url}/v2/${repo}/manifests/v1`, { method: 'DELETE' })).status, 202);
    }
    clock.advance(2 * HOUR);
    const freedBy = (report: SweepReport, repo: string): number =>
      report.repositories.find((r) => r.repo === repo)!.freedBytes;
    // Repositories go in byte order; the last one to drop the blobs frees them.
    const dry = await dryRunCollector(t, clock).sweep();
    assert.deepEqual(
      repos.map((repo) => freedBy(dry, repo)),
      [0, 0, 0, imageBytes],
    );
    const swept = await gc.sweepNow();
    assert.deepEqual(
      repos.map((repo) => freedBy(swept, repo)),
      [0, 0, 0, imageBytes],
    );
    assert.equal(existsSync(blobPath(t.root, 'two', image.layers[0]!.digest)), false);
  });

  it('reports in a dry run what it would remove and the bytes it would free, and changes nothing', async () => {
    const { t, clock } = await start();
    const image = makeImage({ layerSizes: [5000] });
    await pushContent(t.url, 'dry', image);
    clock.advance(2 * HOUR);
    const report = await dryRunCollector(t, clock).sweep();
    assert.equal(report.dryRun, true);
    const dry = report.repositories[0]!;
    assert.equal(dry.blobs.length, 3);
    assert.equal(dry.freedBytes, image.manifest.size + image.config.size + image.layers[0]!.size);
    assert.equal(dry.repositoryRemoved, true);
    await expectPullable(t.url, 'dry', image.manifest.digest, image);
  });

  it('empties a repository completely: it leaves the catalog and its tags list answers NAME_UNKNOWN', async () => {
    const { t, clock, gc } = await start();
    await pushContent(t.url, 'ephemeral', makeImage());
    await pushContent(t.url, 'stays', makeImage(), 'v1');
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    assert.equal(report.repositories.find((r) => r.repo === 'ephemeral')?.repositoryRemoved, true);
    const catalog = (await (await fetch(`${t.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(catalog.repositories, ['stays']);
    assert.equal((await fetch(`${t.url}/v2/ephemeral/tags/list`)).status, 404);
    assert.equal(existsSync(path.join(t.root, 'ephemeral', 'index.json')), false);
    // The repository can be pushed to again.
    const again = makeImage();
    await pushContent(t.url, 'ephemeral', again, 'v2');
    await expectPullable(t.url, 'ephemeral', 'v2', again);
  });

  it('collects nothing in a repository whose index.json does not parse, and says so', async () => {
    const { t, clock, gc } = await start();
    const orphan = makeLayer();
    await pushContent(t.url, 'broken', makeImage(), 'v1');
    await uploadBlob(t.url, 'broken', orphan);
    await writeFile(path.join(t.root, 'broken', 'index.json'), '{"manifests": [');
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    const broken = report.repositories[0]!;
    assert.match(broken.error ?? '', /JSON/);
    assert.deepEqual(broken.blobs, []);
    assert.equal(existsSync(blobPath(t.root, 'broken', orphan.digest)), true);
    const runs = (await metricsFor(t.app.registry).gcRuns.get()).values;
    assert.equal(runs.find((v) => v.labels.error === 'true')?.value, 1);
  });

  it('spares a blob uploaded again while already stored, though its file is old', async () => {
    const { t, clock, gc } = await start();
    const layer = makeLayer();
    await uploadBlob(t.url, 'again', layer);
    await ageFile(blobPath(t.root, 'again', layer.digest), 2 * HOUR);
    // The same bytes uploaded again in chunks: the finished upload finds the old file and keeps
    // it, mtime and all; only the recorded store time says the client was just told "stored".
    await uploadInChunks(t.url, 'again', layer);
    assert.deepEqual((await gc.sweepNow()).repositories, [], 'the client was just told the blob is stored');
    assert.notEqual(await t.app.meta.recentBlobs.storedAt('again', layer.digest), undefined);
    clock.advance(2 * HOUR);
    assert.deepEqual(
      (await gc.sweepNow()).repositories[0]?.blobs.map((b) => b.digest),
      [layer.digest],
    );
  });

  it('spares a blob written just now by its file time alone, recording no store time for it', async () => {
    const { t, gc } = await start();
    const layer = makeLayer();
    const image = makeImage();
    await uploadBlob(t.url, 'fresh', layer);
    // Uploaded again in one request: the file is written again, so it is young again by itself.
    await ageFile(blobPath(t.root, 'fresh', layer.digest), 2 * HOUR);
    await uploadBlob(t.url, 'fresh', layer);
    await pushContent(t.url, 'fresh', image, 'v1');
    assert.deepEqual((await gc.sweepNow()).repositories, []);
    for (const digest of [layer.digest, ...digestsOf(image)])
      assert.equal(await t.app.meta.recentBlobs.storedAt('fresh', digest), undefined, digest);
    await ageFile(blobPath(t.root, 'fresh', layer.digest), 2 * HOUR);
    assert.deepEqual(
      (await gc.sweepNow()).repositories[0]?.blobs.map((b) => b.digest),
      [layer.digest],
      'the unreferenced layer goes once its file is old; the tagged image stays',
    );
  });

  it('leaves the blob folders alone apart from blobs: nothing but collected files disappears', async () => {
    const { t, clock, gc } = await start();
    const image = makeImage();
    await pushContent(t.url, 'tidy', image, 'v1');
    await uploadBlob(t.url, 'tidy', makeLayer());
    clock.advance(2 * HOUR);
    await gc.sweepNow();
    const left = (await readdir(path.join(t.root, 'tidy', 'blobs', 'sha256'))).sort();
    assert.deepEqual(left, digestsOf(image).map(digestHex).sort());
  });
});
