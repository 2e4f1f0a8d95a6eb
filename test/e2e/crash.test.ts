/**
 * Crash safety: concurrent pushes of distinct images (layers of several MiB; monolithic, chunked,
 * single-POST and streamed uploads), the server killed with SIGKILL in the middle of them (with
 * uploads and a manifest deliberately held half-sent at that moment), then restarted on the same
 * storage root. Every push that got its 201 for the manifest must be intact, everything served
 * must match its digest, nothing half-sent may be visible, and the server must take new pushes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';

import { ACCEPT_ALL_MANIFESTS, makeImage, type Image } from '../support/fixtures.js';
import {
  assertStatus,
  digestOf,
  locationOf,
  nextLink,
  pushAll,
  pushBlob,
  putManifest,
  removeRoot,
  send,
  startTarget,
  startUpload,
  uniqueRepo,
  walkCatalog,
  withQuery,
  type Target,
} from '../conformance/helpers.js';

const MiB = 1024 * 1024;

type UploadMode = 'post-put' | 'chunked' | 'single-post' | 'streamed';
const MODES: UploadMode[] = ['post-put', 'chunked', 'single-post', 'streamed'];

interface PlannedPush {
  repo: string;
  tag: string;
  image: Image;
  mode: UploadMode;
  /** Set when the manifest PUT answered 201 before the crash. */
  acknowledged: boolean;
}

/** Uploads one blob the given way; throws unless the registry answered 201. */
async function upload(
  base: string,
  repo: string,
  bytes: Buffer,
  digest: string,
  mode: UploadMode,
): Promise<void> {
  switch (mode) {
    case 'post-put':
      await pushBlob(base, repo, bytes, digest);
      return;
    case 'single-post': {
      const reply = await send(withQuery(`${base}/v2/${repo}/blobs/uploads/`, { digest }), {
        method: 'POST',
        body: bytes,
      });
      assertStatus(reply, 201);
      return;
    }
    case 'chunked': {
      let location = await startUpload(base, repo);
      for (let start = 0; start < bytes.length; start += MiB) {
        const chunk = bytes.subarray(start, start + MiB);
        const reply = await send(location, {
          method: 'PATCH',
          headers: { 'content-range': `${start}-${start + chunk.length - 1}` },
          body: chunk,
        });
        assertStatus(reply, 202);
        location = locationOf(reply);
      }
      assertStatus(await send(withQuery(location, { digest }), { method: 'PUT' }), 201);
      return;
    }
    case 'streamed': {
      const pieces: Buffer[] = [];
      for (let start = 0; start < bytes.length; start += 256 * 1024)
        pieces.push(bytes.subarray(start, start + 256 * 1024));
      const reply = await send(await startUpload(base, repo), { method: 'PATCH', body: pieces });
      assertStatus(reply, 202);
      assertStatus(await send(withQuery(locationOf(reply), { digest }), { method: 'PUT' }), 201);
      return;
    }
  }
}

async function push(base: string, planned: PlannedPush): Promise<void> {
  for (const blob of planned.image.blobs)
    await upload(base, planned.repo, blob.bytes, blob.digest, planned.mode);
  const reply = await putManifest(base, planned.repo, planned.tag, planned.image.manifest);
  assertStatus(reply, 201);
  planned.acknowledged = true;
}

/**
 * Starts a request, sends its head and `sent` bytes of a longer body, and holds it open: a
 * request in flight when the server dies. Resolves once the bytes are written.
 */
function holdHalfSent(
  url: string,
  method: string,
  headers: Record<string, string>,
  sent: Buffer,
): Promise<http.ClientRequest> {
  const { hostname, port, pathname, search } = new URL(url);
  const req = http.request({
    host: hostname,
    port,
    path: `${pathname}${search}`,
    method,
    headers,
    agent: false,
  });
  req.on('error', () => undefined);
  return new Promise((resolve) => req.write(sent, () => resolve(req)));
}

/** Every blob a manifest (or, recursively, an index) refers to must be served and match its digest. */
async function checkManifestTree(
  base: string,
  repo: string,
  reference: string,
  seen = new Set<string>(),
): Promise<number> {
  const reply = await send(`${base}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: ACCEPT_ALL_MANIFESTS },
  });
  assert.equal(reply.status, 200, reply.describe());
  const digest = digestOf(reply.body);
  assert.equal(
    reply.header('docker-content-digest'),
    digest,
    `${repo}:${reference} is served with its own digest`,
  );
  if (reference.includes(':')) assert.equal(digest, reference, `${repo}@${reference} hashes to its digest`);
  const doc = reply.json<{
    config?: { digest: string };
    layers?: { digest: string }[];
    manifests?: { digest: string }[];
  }>();
  let blobs = 0;
  for (const descriptor of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
    if (seen.has(descriptor.digest)) continue;
    seen.add(descriptor.digest);
    const blob = await send(`${base}/v2/${repo}/blobs/${descriptor.digest}`);
    assert.equal(blob.status, 200, blob.describe());
    assert.equal(
      digestOf(blob.body, descriptor.digest.startsWith('sha512:') ? 'sha512' : 'sha256'),
      descriptor.digest,
      `${repo} blob ${descriptor.digest} matches its digest`,
    );
    blobs++;
  }
  for (const child of doc.manifests ?? []) blobs += await checkManifestTree(base, repo, child.digest, seen);
  return blobs;
}

/** Every tag of a repository, following `Link rel="next"`. */
async function allTags(base: string, repo: string): Promise<string[]> {
  const tags: string[] = [];
  let url: string | undefined = `${base}/v2/${repo}/tags/list?n=50`;
  while (url !== undefined) {
    const reply = await send(url);
    assert.equal(reply.status, 200, reply.describe());
    tags.push(...(reply.json<{ tags: string[] | null }>().tags ?? []));
    url = nextLink(reply);
  }
  return tags;
}

describe('crash during concurrent pushes', () => {
  it(
    'every acknowledged push survives a SIGKILL intact, nothing half-sent is visible, and pushes resume',
    { timeout: 600_000 },
    async (t) => {
      let target: Target = await startTarget({ keepRoot: true });
      const root = target.root;
      try {
        const planned: PlannedPush[] = Array.from({ length: 8 }, (_, i) => ({
          repo: `crash/${uniqueRepo(`image${i}`)}`,
          tag: `v${i}`,
          // Sizes differ so the pushes finish at different times and some are mid-way at the kill.
          image: makeImage({ layerSizes: [(2 + (i % 4)) * MiB, (1 + (i % 3)) * MiB, 4096] }),
          mode: MODES[i % MODES.length] ?? 'post-put',
          acknowledged: false,
        }));

        // Held half-sent at the moment of the crash: two blob uploads and one manifest.
        const heldBlob = Buffer.alloc(6 * MiB, 7);
        const heldRepo = `crash/${uniqueRepo('held')}`;
        const heldImage = makeImage({ layerSizes: [MiB] });
        await pushAll(target.url, heldRepo, heldImage);
        const held = [
          await holdHalfSent(
            withQuery(await startUpload(target.url, heldRepo), { digest: digestOf(heldBlob) }),
            'PUT',
            { 'content-length': String(heldBlob.length) },
            heldBlob.subarray(0, 2 * MiB),
          ),
          await holdHalfSent(
            withQuery(`${target.url}/v2/${heldRepo}/blobs/uploads/`, { digest: digestOf(heldBlob) }),
            'POST',
            { 'content-length': String(heldBlob.length) },
            heldBlob.subarray(0, 3 * MiB),
          ),
          await holdHalfSent(
            `${target.url}/v2/${heldRepo}/manifests/held`,
            'PUT',
            {
              'content-type': heldImage.manifest.mediaType,
              'content-length': String(heldImage.manifest.size),
            },
            heldImage.manifest.bytes.subarray(0, Math.floor(heldImage.manifest.size / 2)),
          ),
        ];

        // Kill as soon as two pushes are acknowledged; the others are then somewhere in flight.
        let acknowledgedSoFar = 0;
        let onSecond: () => void = () => undefined;
        const secondAck = new Promise<void>((resolve) => (onSecond = resolve));
        const pushes = Promise.allSettled(
          planned.map(async (p) => {
            await push(target.url, p);
            if (++acknowledgedSoFar === 2) onSecond();
          }),
        );
        await Promise.race([secondAck, pushes]);
        await target.kill();
        await pushes;
        for (const req of held) req.destroy();

        const acknowledged = planned.filter((p) => p.acknowledged);
        t.diagnostic(`${acknowledged.length} of ${planned.length} pushes acknowledged before the SIGKILL`);
        assert.ok(
          acknowledged.length >= 2,
          `pushes were acknowledged before the crash: ${acknowledged.length}\n${target.output().slice(-3000)}`,
        );

        target = await startTarget({ root, keepRoot: true });

        // Every push that got its 201 is intact: by tag, by digest, every blob.
        for (const p of acknowledged) {
          for (const reference of [p.tag, p.image.manifest.digest]) {
            const reply = await send(`${target.url}/v2/${p.repo}/manifests/${reference}`, {
              headers: { accept: ACCEPT_ALL_MANIFESTS },
            });
            assert.equal(
              reply.status,
              200,
              `acknowledged ${p.repo}:${reference} survives: ${reply.describe()}`,
            );
            assert.deepEqual(reply.body, p.image.manifest.bytes, `${p.repo}:${reference} byte for byte`);
          }
          for (const blob of p.image.blobs) {
            const reply = await send(`${target.url}/v2/${p.repo}/blobs/${blob.digest}`);
            assert.equal(reply.status, 200, reply.describe());
            assert.equal(digestOf(reply.body), blob.digest, `${p.repo} blob ${blob.digest} intact`);
          }
        }

        // What was not acknowledged is either absent or complete, never partial.
        for (const p of planned.filter((x) => !x.acknowledged)) {
          for (const blob of p.image.blobs) {
            const reply = await send(`${target.url}/v2/${p.repo}/blobs/${blob.digest}`);
            assertStatus(reply, 200, 404);
            if (reply.status === 200)
              assert.equal(digestOf(reply.body), blob.digest, `${p.repo} blob ${blob.digest} is complete`);
          }
          const manifest = await send(`${target.url}/v2/${p.repo}/manifests/${p.tag}`, {
            headers: { accept: ACCEPT_ALL_MANIFESTS },
          });
          assertStatus(manifest, 200, 404);
          if (manifest.status === 200) assert.deepEqual(manifest.body, p.image.manifest.bytes);
        }

        // The half-sent requests left nothing behind.
        for (const method of ['GET', 'HEAD']) {
          const reply = await send(`${target.url}/v2/${heldRepo}/blobs/${digestOf(heldBlob)}`, { method });
          assert.equal(reply.status, 404, `a half-sent blob is not visible: ${reply.describe()}`);
        }
        const heldTag = await send(`${target.url}/v2/${heldRepo}/manifests/held`);
        assert.equal(heldTag.status, 404, `a half-sent manifest is not visible: ${heldTag.describe()}`);

        // Everything the registry serves matches its digest.
        const repositories = await walkCatalog(target.url, 5);
        for (const p of acknowledged) assert.ok(repositories.includes(p.repo), `${p.repo} is in the catalog`);
        let checkedBlobs = 0;
        for (const repo of repositories) {
          for (const tag of await allTags(target.url, repo))
            checkedBlobs += await checkManifestTree(target.url, repo, tag);
        }
        assert.ok(
          checkedBlobs >= acknowledged.length * 4,
          `the walk checked the acknowledged images' blobs (${checkedBlobs})`,
        );

        // The registry takes new pushes, including the interrupted ones pushed again.
        for (const p of planned.filter((x) => !x.acknowledged)) {
          await push(target.url, p);
          await checkManifestTree(target.url, p.repo, p.tag);
        }
        const fresh = makeImage({ layerSizes: [3 * MiB] });
        const freshRepo = `crash/${uniqueRepo('after')}`;
        await pushAll(target.url, freshRepo, fresh, 'v1');
        await checkManifestTree(target.url, freshRepo, 'v1');
        await upload(target.url, heldRepo, heldBlob, digestOf(heldBlob), 'chunked');
        assert.equal(
          digestOf((await send(`${target.url}/v2/${heldRepo}/blobs/${digestOf(heldBlob)}`)).body),
          digestOf(heldBlob),
        );
      } finally {
        await target.stop();
        await removeRoot(root);
      }
    },
  );
});
