/**
 * Digests: sha256 and sha512 blobs (`digest-algorithm=sha512` opens a sha512 session), content
 * checked against the digest (DIGEST_INVALID), and 400 for malformed digests and unsupported
 * algorithms.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { MediaType, makeImage } from '../support/fixtures.js';
import {
  assertError,
  assertStatus,
  digestOf,
  isDigestOf,
  locationOf,
  pushBlob,
  pushParts,
  randomBlob,
  send,
  startTarget,
  startUpload,
  uniqueRepo,
  withQuery,
  type Target,
} from './helpers.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target?.stop();
});

const blobUrl = (repo: string, digest: string): string => `${target.url}/v2/${repo}/blobs/${digest}`;

function putBlob(session: string, digest: string, bytes: Buffer) {
  return send(withQuery(session, { digest }), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
}

describe('sha256', () => {
  it('a blob uploaded under its sha256 digest is served under it', async () => {
    const repo = uniqueRepo('digest');
    const bytes = randomBlob(1000);
    const put = await pushBlob(target.url, repo, bytes);
    assert.equal(put.header('docker-content-digest'), digestOf(bytes));
    const pulled = await send(blobUrl(repo, digestOf(bytes)));
    assert.equal(pulled.status, 200, pulled.describe());
    assert.equal(pulled.header('docker-content-digest'), digestOf(bytes));
  });
});

describe('sha512', () => {
  it('POST then PUT ?digest=sha512:... answers 201 and the blob is served under that digest', async () => {
    const repo = uniqueRepo('sha512');
    const bytes = randomBlob(5000);
    const digest = digestOf(bytes, 'sha512');
    const put = await putBlob(await startUpload(target.url, repo), digest, bytes);
    assert.equal(put.status, 201, put.describe());
    const pulled = await send(blobUrl(repo, digest));
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, bytes);
    // The spec lets the header use another algorithm than the request; it must match the content.
    assert.ok(
      isDigestOf(pulled.header('docker-content-digest'), bytes),
      pulled.header('docker-content-digest'),
    );
  });

  it('HEAD of a sha512 blob answers its size and a digest of its content', async () => {
    const repo = uniqueRepo('sha512');
    const bytes = randomBlob(777);
    const digest = digestOf(bytes, 'sha512');
    await pushBlob(target.url, repo, bytes, digest);
    const head = await send(blobUrl(repo, digest), { method: 'HEAD' });
    assert.equal(head.status, 200, head.describe());
    assert.equal(head.header('content-length'), '777');
    assert.ok(isDigestOf(head.header('docker-content-digest'), bytes), head.header('docker-content-digest'));
  });

  it('a chunked upload opened with digest-algorithm=sha512 completes under the sha512 digest', async () => {
    const repo = uniqueRepo('sha512');
    const bytes = randomBlob(3000);
    const digest = digestOf(bytes, 'sha512');
    const session = await startUpload(target.url, repo, { 'digest-algorithm': 'sha512' });
    const patch = await send(session, {
      method: 'PATCH',
      headers: { 'content-range': '0-1999' },
      body: bytes.subarray(0, 2000),
    });
    assertStatus(patch, 202);
    const put = await send(withQuery(locationOf(patch), { digest }), {
      method: 'PUT',
      headers: { 'content-range': '2000-2999', 'content-type': 'application/octet-stream' },
      body: bytes.subarray(2000),
    });
    assert.equal(put.status, 201, put.describe());
    assert.deepEqual((await send(blobUrl(repo, digest))).body, bytes);
  });

  it('a single POST ?digest=sha512:... answers 201', async () => {
    const repo = uniqueRepo('sha512');
    const bytes = randomBlob(100);
    const digest = digestOf(bytes, 'sha512');
    const reply = await send(withQuery(`${target.url}/v2/${repo}/blobs/uploads/`, { digest }), {
      method: 'POST',
      body: bytes,
    });
    assert.equal(reply.status, 201, reply.describe());
    assert.deepEqual((await send(blobUrl(repo, digest))).body, bytes);
  });

  it('a sha512 upload whose content does not match is refused with 400 DIGEST_INVALID', async () => {
    const repo = uniqueRepo('sha512');
    const claimed = digestOf(randomBlob(64), 'sha512');
    assertError(
      await putBlob(await startUpload(target.url, repo), claimed, randomBlob(64)),
      400,
      'DIGEST_INVALID',
    );
    assertError(await send(blobUrl(repo, claimed), { method: 'HEAD' }), 404, 'BLOB_UNKNOWN');
  });

  it('a manifest may reference a sha512 layer', async () => {
    const repo = uniqueRepo('sha512');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const layer = randomBlob(2048);
    const layerDigest = digestOf(layer, 'sha512');
    await pushBlob(target.url, repo, layer, layerDigest);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: image.config.digest, size: image.config.size },
        layers: [{ mediaType: 'application/octet-stream', digest: layerDigest, size: layer.length }],
      }),
    );
    const put = await send(`${target.url}/v2/${repo}/manifests/v512`, {
      method: 'PUT',
      headers: { 'content-type': MediaType.ociManifest },
      body: bytes,
    });
    assert.equal(put.status, 201, put.describe());
  });

  it('a manifest pushed by its sha512 digest is pullable by that digest', async () => {
    const repo = uniqueRepo('sha512');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const digest = digestOf(image.manifest.bytes, 'sha512');
    const put = await send(`${target.url}/v2/${repo}/manifests/${digest}`, {
      method: 'PUT',
      headers: { 'content-type': image.manifest.mediaType },
      body: image.manifest.bytes,
    });
    assert.equal(put.status, 201, put.describe());
    // For manifests the spec is strict: the header equals the digest the client pushed by.
    assert.equal(put.header('docker-content-digest'), digest);
    const pulled = await send(`${target.url}/v2/${repo}/manifests/${digest}`, {
      headers: { accept: image.manifest.mediaType },
    });
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, image.manifest.bytes);
  });
});

describe('content that does not match its digest', () => {
  it('PUT ?digest= with other content is refused with 400 DIGEST_INVALID and stores nothing', async () => {
    const repo = uniqueRepo('mismatch');
    const bytes = randomBlob(1000);
    const claimed = digestOf(randomBlob(1000));
    assertError(await putBlob(await startUpload(target.url, repo), claimed, bytes), 400, 'DIGEST_INVALID');
    assertError(await send(blobUrl(repo, claimed), { method: 'HEAD' }), 404, [
      'BLOB_UNKNOWN',
      'NAME_UNKNOWN',
    ]);
    assertError(await send(blobUrl(repo, digestOf(bytes)), { method: 'HEAD' }), 404, [
      'BLOB_UNKNOWN',
      'NAME_UNKNOWN',
    ]);
  });

  it('a single POST ?digest= with other content is refused with 400 DIGEST_INVALID', async () => {
    const repo = uniqueRepo('mismatch');
    const claimed = digestOf('something else');
    const reply = await send(withQuery(`${target.url}/v2/${repo}/blobs/uploads/`, { digest: claimed }), {
      method: 'POST',
      body: randomBlob(100),
    });
    assertError(reply, 400, 'DIGEST_INVALID');
    assertError(await send(blobUrl(repo, claimed), { method: 'HEAD' }), 404, [
      'BLOB_UNKNOWN',
      'NAME_UNKNOWN',
    ]);
  });

  it('a chunked upload closed with the digest of the last chunk only is refused with 400 DIGEST_INVALID', async () => {
    const repo = uniqueRepo('mismatch');
    const bytes = randomBlob(2000);
    const patch = await send(await startUpload(target.url, repo), {
      method: 'PATCH',
      headers: { 'content-range': '0-999' },
      body: bytes.subarray(0, 1000),
    });
    assertStatus(patch, 202);
    const put = await send(withQuery(locationOf(patch), { digest: digestOf(bytes.subarray(1000)) }), {
      method: 'PUT',
      headers: { 'content-range': '1000-1999' },
      body: bytes.subarray(1000),
    });
    assertError(put, 400, 'DIGEST_INVALID');
  });

  it('closing an upload without ?digest= is refused with 400 DIGEST_INVALID', async () => {
    const repo = uniqueRepo('mismatch');
    const reply = await send(await startUpload(target.url, repo), { method: 'PUT', body: randomBlob(10) });
    assertError(reply, 400, 'DIGEST_INVALID');
  });
});

describe('malformed digests and unsupported algorithms', () => {
  const MALFORMED = [
    ['a short sha256 hex', 'sha256:abc'],
    ['upper-case sha256 hex', `sha256:${'A'.repeat(64)}`],
    ['non-hex sha256', `sha256:${'g'.repeat(64)}`],
    ['no algorithm', 'a'.repeat(64)],
    ['an empty encoded part', 'sha256:'],
    ['a sha512 hex of sha256 length', `sha512:${'a'.repeat(64)}`],
  ] as const;
  const UNSUPPORTED = [
    ['md5', `md5:${'a'.repeat(32)}`],
    ['an unknown algorithm', `foo:${'a'.repeat(64)}`],
  ] as const;

  for (const [what, digest] of [...MALFORMED, ...UNSUPPORTED]) {
    it(`closing an upload with ${what} (${digest.slice(0, 20)}) answers 400 DIGEST_INVALID`, async () => {
      const reply = await putBlob(
        await startUpload(target.url, uniqueRepo('bad-digest')),
        digest,
        randomBlob(10),
      );
      assertError(reply, 400, 'DIGEST_INVALID');
    });
  }

  for (const [what, digest] of UNSUPPORTED) {
    it(`a single POST with ${what} answers 400`, async () => {
      const reply = await send(
        withQuery(`${target.url}/v2/${uniqueRepo('bad-digest')}/blobs/uploads/`, { digest }),
        { method: 'POST', body: randomBlob(10) },
      );
      assertError(reply, 400, 'DIGEST_INVALID');
    });
  }

  it('digest-algorithm=md5 on POST answers 400', async () => {
    const reply = await send(
      `${target.url}/v2/${uniqueRepo('bad-digest')}/blobs/uploads/?digest-algorithm=md5`,
      { method: 'POST' },
    );
    assertError(reply, 400, ['DIGEST_INVALID', 'UNSUPPORTED']);
  });

  it('GET of a blob by a malformed digest answers 400 DIGEST_INVALID', async () => {
    const repo = uniqueRepo('bad-digest');
    await pushBlob(target.url, repo, randomBlob(10));
    assertError(await send(blobUrl(repo, 'sha256:abc')), 400, 'DIGEST_INVALID');
  });

  it('GET of a manifest by a malformed digest answers 400', async () => {
    const repo = uniqueRepo('bad-digest');
    await pushBlob(target.url, repo, randomBlob(10));
    const reply = await send(`${target.url}/v2/${repo}/manifests/sha256:abc`);
    assertError(reply, 400, ['DIGEST_INVALID', 'MANIFEST_INVALID']);
  });
});
