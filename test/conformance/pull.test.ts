/**
 * Pull: `GET`/`HEAD` of manifests (end-3) and blobs (end-2), and `Range` requests on blobs
 * (RFC 9110 section 14: 206 with `Content-Range`, 416 when unsatisfiable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ACCEPT_ALL_MANIFESTS, makeImage, type Image } from '../support/fixtures.js';
import {
  assertError,
  digestOf,
  pushAll,
  pushBlob,
  randomBlob,
  send,
  startTarget,
  uniqueRepo,
  type Target,
} from './helpers.js';

let target: Target;
const repo = uniqueRepo('pull');
let image: Image;
/** A plain blob for the Range tests: 1000 random bytes. */
const ranged = randomBlob(1000);
const rangedDigest = digestOf(ranged);

before(async () => {
  target = await startTarget();
  image = makeImage({ layerSizes: [64 * 1024] });
  await pushAll(target.url, repo, image, 'v1');
  await pushBlob(target.url, repo, ranged);
});
after(async () => {
  await target?.stop();
});

const manifestUrl = (reference: string, name = repo): string =>
  `${target.url}/v2/${name}/manifests/${reference}`;
const blobUrl = (digest: string, name = repo): string => `${target.url}/v2/${name}/blobs/${digest}`;

describe('pulling manifests', () => {
  it('GET by tag answers 200 with the manifest exactly as pushed', async () => {
    const reply = await send(manifestUrl('v1'), { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.body, image.manifest.bytes);
  });

  it('GET by digest answers 200 with the manifest exactly as pushed', async () => {
    const reply = await send(manifestUrl(image.manifest.digest), {
      headers: { accept: ACCEPT_ALL_MANIFESTS },
    });
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.body, image.manifest.bytes);
  });

  it('GET carries Docker-Content-Digest, the digest of the returned bytes', async () => {
    const reply = await send(manifestUrl('v1'), { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    assert.equal(reply.header('docker-content-digest'), digestOf(reply.body));
    assert.equal(reply.header('docker-content-digest'), image.manifest.digest);
  });

  it('GET carries the pushed media type as Content-Type, without parameters', async () => {
    const reply = await send(manifestUrl('v1'), { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    assert.equal(reply.header('content-type'), image.manifest.mediaType);
  });

  it('HEAD by tag answers 200 with Docker-Content-Digest, Content-Length and no body', async () => {
    const reply = await send(manifestUrl('v1'), {
      method: 'HEAD',
      headers: { accept: ACCEPT_ALL_MANIFESTS },
    });
    assert.equal(reply.status, 200, reply.describe());
    assert.equal(reply.header('docker-content-digest'), image.manifest.digest);
    assert.equal(reply.header('content-length'), String(image.manifest.size));
    assert.equal(reply.body.length, 0);
  });

  it('HEAD by digest answers 200 with Docker-Content-Digest and Content-Length', async () => {
    const reply = await send(manifestUrl(image.manifest.digest), {
      method: 'HEAD',
      headers: { accept: ACCEPT_ALL_MANIFESTS },
    });
    assert.equal(reply.status, 200, reply.describe());
    assert.equal(reply.header('docker-content-digest'), image.manifest.digest);
    assert.equal(reply.header('content-length'), String(image.manifest.size));
  });

  it('GET of an unknown tag answers 404 MANIFEST_UNKNOWN', async () => {
    assertError(await send(manifestUrl('no-such-tag')), 404, 'MANIFEST_UNKNOWN');
  });

  it('GET of an unknown digest answers 404 MANIFEST_UNKNOWN', async () => {
    assertError(await send(manifestUrl(digestOf('no such manifest'))), 404, 'MANIFEST_UNKNOWN');
  });

  it('HEAD of an unknown manifest answers 404 without a body', async () => {
    assertError(await send(manifestUrl('no-such-tag'), { method: 'HEAD' }), 404, 'MANIFEST_UNKNOWN');
  });

  it('GET of a manifest in a repository that does not exist answers 404', async () => {
    assertError(await send(manifestUrl('v1', uniqueRepo('nowhere'))), 404, [
      'NAME_UNKNOWN',
      'MANIFEST_UNKNOWN',
    ]);
  });

  it('a manifest pushed to one repository is not found in another', async () => {
    const other = uniqueRepo('pull-other');
    await pushAll(target.url, other, makeImage(), 'v1');
    assertError(await send(manifestUrl(image.manifest.digest, other)), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('pulling blobs', () => {
  it('GET answers 200 with the blob, its Docker-Content-Digest and Content-Length', async () => {
    const layer = image.layers[0]!;
    const reply = await send(blobUrl(layer.digest));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.body, layer.bytes);
    assert.equal(reply.header('docker-content-digest'), layer.digest);
    assert.equal(reply.header('content-length'), String(layer.size));
  });

  it('GET of the config blob answers its exact bytes', async () => {
    const reply = await send(blobUrl(image.config.digest));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.body, image.config.bytes);
  });

  it('HEAD answers 200 with Docker-Content-Digest, Content-Length and no body', async () => {
    const reply = await send(blobUrl(rangedDigest), { method: 'HEAD' });
    assert.equal(reply.status, 200, reply.describe());
    assert.equal(reply.header('docker-content-digest'), rangedDigest);
    assert.equal(reply.header('content-length'), String(ranged.length));
    assert.equal(reply.body.length, 0);
  });

  it('GET of an unknown blob answers 404 BLOB_UNKNOWN', async () => {
    assertError(await send(blobUrl(digestOf('no such blob'))), 404, 'BLOB_UNKNOWN');
  });

  it('HEAD of an unknown blob answers 404 without a body', async () => {
    assertError(await send(blobUrl(digestOf('no such blob')), { method: 'HEAD' }), 404, 'BLOB_UNKNOWN');
  });

  it('a blob pushed to one repository is not found in another', async () => {
    const other = uniqueRepo('pull-other');
    await pushBlob(target.url, other, randomBlob(10));
    assertError(await send(blobUrl(rangedDigest, other)), 404, 'BLOB_UNKNOWN');
    assertError(await send(blobUrl(rangedDigest, other), { method: 'HEAD' }), 404, 'BLOB_UNKNOWN');
  });
});

describe('Range requests on blobs', () => {
  it('bytes=0-99 answers 206 with Content-Range bytes 0-99/1000 and those bytes', async () => {
    const reply = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=0-99' } });
    assert.equal(reply.status, 206, reply.describe());
    assert.equal(reply.header('content-range'), 'bytes 0-99/1000');
    assert.equal(reply.header('content-length'), '100');
    assert.deepEqual(reply.body, ranged.subarray(0, 100));
  });

  it('a range in the middle answers exactly those bytes', async () => {
    const reply = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=500-749' } });
    assert.equal(reply.status, 206, reply.describe());
    assert.equal(reply.header('content-range'), 'bytes 500-749/1000');
    assert.deepEqual(reply.body, ranged.subarray(500, 750));
  });

  it('an open-ended range (bytes=900-) answers the rest of the blob', async () => {
    const reply = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=900-' } });
    assert.equal(reply.status, 206, reply.describe());
    assert.equal(reply.header('content-range'), 'bytes 900-999/1000');
    assert.deepEqual(reply.body, ranged.subarray(900));
  });

  it('a suffix range (bytes=-50) answers the last 50 bytes', async () => {
    const reply = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=-50' } });
    assert.equal(reply.status, 206, reply.describe());
    assert.equal(reply.header('content-range'), 'bytes 950-999/1000');
    assert.deepEqual(reply.body, ranged.subarray(950));
  });

  it('a range past the end is cut to the blob (bytes=990-2000 → 990-999)', async () => {
    const reply = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=990-2000' } });
    assert.equal(reply.status, 206, reply.describe());
    assert.equal(reply.header('content-range'), 'bytes 990-999/1000');
    assert.deepEqual(reply.body, ranged.subarray(990));
  });

  it('a range starting at the size answers 416 with Content-Range bytes */1000', async () => {
    const reply = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=1000-' } });
    assert.equal(reply.status, 416, reply.describe());
    assert.equal(reply.header('content-range'), 'bytes */1000');
  });

  it('a range starting far beyond the size answers 416', async () => {
    const reply = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=5000-6000' } });
    assert.equal(reply.status, 416, reply.describe());
  });

  it('a resumed pull (the rest after a cut) reassembles the blob', async () => {
    const first = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=0-411' } });
    const rest = await send(blobUrl(rangedDigest), { headers: { range: 'bytes=412-' } });
    assert.equal(first.status, 206, first.describe());
    assert.equal(rest.status, 206, rest.describe());
    assert.equal(digestOf(Buffer.concat([first.body, rest.body])), rangedDigest);
  });
});
