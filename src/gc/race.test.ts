/**
 * Garbage collection racing pushes. Workers push images and indexes (chunked uploads, re-uploads
 * of stored blobs, cross-repository mounts) into shared repositories while sweeps run back to back.
 *
 * - With `gcDelay` as configured, every push must succeed and stay whole, while old garbage goes.
 * - With everything collectable at once (no delay at all), pushes may fail, but only cleanly with a
 *   4xx the client can retry; a manifest that was accepted must never name content that a sweep
 *   removed, so every accepted image stays whole and the store scrubs clean.
 */
import assert from 'node:assert/strict';
import { readdir, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  getBlob,
  getManifest,
  makeImage,
  makeIndex,
  makeLayer,
  pushContent,
  putManifest,
  RegistryResponseError,
  uploadBlob,
  type Blob,
  type Content,
  type Layer,
} from '../../test/support/fixtures.js';
import { scrubStore } from '../scrub/scrub.js';
import { GarbageCollector } from './collector.js';
import { gcExtension, type GcExtension } from './extension.js';
import { totalsOf, type SweepReport } from './report.js';
import { RetentionPolicies } from './retention.js';
import { HOUR, startTestApp, type TestApp } from './test-app.js';

const WORKERS = 6;
const PUSHES_PER_WORKER = 10;
const REPOS = ['race/a', 'race/b', 'race/c'];

let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** A blob in three requests: POST, two PATCHes, PUT with the digest. */
async function uploadChunked(url: string, repo: string, blob: Blob): Promise<void> {
  const post = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (post.status !== 202) throw new RegistryResponseError('start upload', post.status, await post.text());
  let location = new URL(post.headers.get('location')!, url);
  const half = Math.floor(blob.size / 2);
  for (const [start, end] of [
    [0, half],
    [half, blob.size],
  ] as const) {
    const patch = await fetch(location, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
      body: blob.bytes.subarray(start, end),
    });
    if (patch.status !== 202)
      throw new RegistryResponseError('patch upload', patch.status, await patch.text());
    location = new URL(patch.headers.get('location')!, url);
  }
  location.searchParams.set('digest', blob.digest);
  const put = await fetch(location, { method: 'PUT' });
  if (put.status !== 201) throw new RegistryResponseError('finish upload', put.status, await put.text());
}

/** Cross-repository mount; falls back to a plain upload when the registry opens a session instead. */
async function mountOrUpload(url: string, repo: string, from: string, blob: Blob): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}`, {
    method: 'POST',
  });
  await res.arrayBuffer();
  if (res.status === 201) return;
  if (res.status !== 202) throw new RegistryResponseError('mount', res.status, '');
  await uploadBlob(url, repo, blob);
}

interface Pushed {
  repo: string;
  tag: string;
  content: Content;
}

interface Outcome {
  pushed: Pushed[];
  refused: { status: number; body: string }[];
}

/**
 * One worker's pushes: images sharing a base layer, every third one an index; various upload paths.
 * A refused push is tried again, as clients do, up to `attempts` times in all.
 */
async function worker(url: string, id: number, base: Layer, outcome: Outcome, attempts = 1): Promise<void> {
  for (let i = 0; i < PUSHES_PER_WORKER; i++) {
    const repo = REPOS[(id + i) % REPOS.length]!;
    const tag = `w${id}-${i}`;
    const content: Content =
      i % 3 === 2
        ? makeIndex({
            images: [makeImage({ layers: [base, makeLayer()] }), makeImage({ layers: [base, makeLayer()] })],
          })
        : makeImage({ layers: [base, makeLayer({ size: 3000 })] });
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        for (const blob of content.blobs) {
          if (blob.digest === base.digest && i % 2 === 1) await mountOrUpload(url, repo, REPOS[0]!, blob);
          else if (i % 2 === 0) await uploadChunked(url, repo, blob);
          else await uploadBlob(url, repo, blob);
        }
        for (const child of content.manifests) await putManifest(url, repo, child.digest, child);
        await putManifest(url, repo, tag, content.manifest);
        outcome.pushed.push({ repo, tag, content });
        break;
      } catch (err) {
        if (!(err instanceof RegistryResponseError)) throw err;
        outcome.refused.push({ status: err.status, body: err.body });
      }
    }
  }
}

async function expectWhole(url: string, { repo, tag, content }: Pushed): Promise<void> {
  const manifest = await getManifest(url, repo, tag);
  assert.equal(manifest.status, 200, `${repo}:${tag} was accepted and must be served`);
  assert.deepEqual(manifest.bytes, content.manifest.bytes);
  for (const child of content.manifests)
    assert.equal((await getManifest(url, repo, child.digest)).status, 200);
  for (const blob of content.blobs) assert.deepEqual(await getBlob(url, repo, blob.digest), blob.bytes);
}

/** Runs sweeps back to back until `work` settles; returns the sweeps' reports. */
async function sweepWhile(
  sweep: () => Promise<SweepReport>,
  work: Promise<unknown>,
  pauseMs = 0,
): Promise<SweepReport[]> {
  let done = false;
  const settled = work.finally(() => (done = true));
  const reports: SweepReport[] = [];
  while (!done) {
    reports.push(await sweep());
    if (pauseMs > 0) await delay(pauseMs);
  }
  await settled;
  return reports;
}

/** Sets every file under `dir` two hours into the past. */
async function ageTree(dir: string, ms: number): Promise<void> {
  const past = new Date(Date.now() - ms);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await ageTree(full, ms);
    else await utimes(full, past, past);
  }
}

describe('garbage collection racing pushes', () => {
  it('never costs a push anything with gcDelay in force, while old garbage goes', async () => {
    // First life: garbage in the repositories the race will push to, then aged past gcDelay.
    const first = await startTestApp({ storage: { gc: false } }, { extensions: [] });
    const base = makeLayer({ size: 5000 });
    const garbage = makeImage({ layers: [makeLayer()] });
    await uploadBlob(first.url, REPOS[0]!, base); // an orphan the race will upload again and mount
    await pushContent(first.url, REPOS[1]!, garbage); // untagged
    await pushContent(first.url, REPOS[2]!, makeImage(), 'keep');
    const root = first.root;
    await first.app.close(1_000);
    await ageTree(root, 2 * HOUR);

    const t = await startTestApp(
      { storage: { gc: true, gcDelay: '1h' } },
      { root, extensions: [gcExtension({ manual: true })] },
    );
    // Given the first app's root, the second does not remove it on close: do it here.
    running = { ...t, close: () => t.close().finally(() => rm(root, { recursive: true, force: true })) };
    const gc = t.app.extensions.find((e) => e.name === 'gc') as GcExtension;
    const outcome: Outcome = { pushed: [], refused: [] };
    const work = Promise.all(Array.from({ length: WORKERS }, (_, id) => worker(t.url, id, base, outcome)));
    const reports = await sweepWhile(() => gc.sweepNow(), work);

    assert.deepEqual(outcome.refused, [], 'no push may fail because of garbage collection');
    assert.equal(outcome.pushed.length, WORKERS * PUSHES_PER_WORKER);
    for (const pushed of outcome.pushed) await expectWhole(t.url, pushed);
    const removed = reports.flatMap((r) => r.repositories).flatMap((r) => r.manifests.map((m) => m.digest));
    assert.deepEqual(removed, [garbage.manifest.digest], 'the aged untagged manifest was collected');
    assert.equal((await getManifest(t.url, REPOS[1]!, garbage.manifest.digest)).status, 404);
    const scrub = await scrubStore({ registry: t.app.registry, log: t.app.log });
    assert.deepEqual(scrub.problems, []);
    // Keep the test honest: sweeps did run while pushes were in flight.
    assert.ok(reports.length >= 2, `only ${reports.length} sweep(s) ran during the pushes`);
  });

  it('refuses, never corrupts, when everything unreferenced is collectable at once', async () => {
    const t = await startTestApp({ storage: { gc: false } }, { extensions: [] });
    running = t;
    // No delay at all and no memory of recent uploads: only the repository lock stands between
    // a sweep and a push's blobs.
    const collector = new GarbageCollector({
      registry: t.app.registry,
      log: t.app.log,
      delayMs: 0,
      retention: new RetentionPolicies({ dryRun: false, delay: 0, policies: [] }, 0),
      now: () => Date.now() + 1_000,
    });
    const base = makeLayer({ size: 5000 });
    const outcome: Outcome = { pushed: [], refused: [] };
    const work = Promise.all(Array.from({ length: WORKERS }, (_, id) => worker(t.url, id, base, outcome, 5)));
    // A breath between sweeps lets some pushes through whole, so that there is something to check.
    const reports = await sweepWhile(() => collector.sweep(), work, 2);
    reports.push(await collector.sweep());

    for (const refusal of outcome.refused) {
      assert.ok(
        refusal.status >= 400 && refusal.status < 500,
        `a push failed with ${refusal.status}: ${refusal.body}`,
      );
    }
    for (const pushed of outcome.pushed) await expectWhole(t.url, pushed);
    const scrub = await scrubStore({ registry: t.app.registry, log: t.app.log });
    assert.deepEqual(scrub.problems, []);
    const collected = reports.reduce(
      (n, r) => n + totalsOf(r.repositories).blobs + totalsOf(r.repositories).uploads,
      0,
    );
    assert.ok(
      collected > 0 || outcome.refused.length > 0,
      'the sweeps never overlapped a push: the race was not exercised',
    );
    assert.ok(outcome.pushed.length > 0, 'some pushes must get through');
  });
});
