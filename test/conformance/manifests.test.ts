/**
 * Manifests: `PUT` (end-7a, end-7b with `?tag=`), stored byte for byte and served with their media
 * type; OCI image manifest and index, Docker schema 2 manifest and manifest list; references to
 * missing content (`MANIFEST_BLOB_UNKNOWN`); the size limit; `subject` and `OCI-Subject`;
 * deletion of tags, manifests (end-9) and blobs (end-10).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  ACCEPT_ALL_MANIFESTS,
  MediaType,
  blobOf,
  descriptorOf,
  makeArtifact,
  makeImage,
  makeIndex,
} from '../support/fixtures.js';
import {
  assertError,
  assertStatus,
  digestOf,
  locationOf,
  pushAll,
  pushBlob,
  pushParts,
  putManifest,
  randomBlob,
  send,
  startTarget,
  uniqueRepo,
  type Target,
} from './helpers.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target?.stop();
});

const manifestUrl = (repo: string, reference: string): string =>
  `${target.url}/v2/${repo}/manifests/${reference}`;
const getManifest = (repo: string, reference: string) =>
  send(manifestUrl(repo, reference), { headers: { accept: ACCEPT_ALL_MANIFESTS } });

describe('pushing an OCI image manifest', () => {
  it('PUT by tag answers 201 Created with Docker-Content-Digest', async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const reply = await putManifest(target.url, repo, 'v1', image.manifest);
    assert.equal(reply.status, 201, reply.describe());
    assert.equal(reply.header('docker-content-digest'), image.manifest.digest);
  });

  it("PUT's Location is a pullable manifest URL", async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    const reply = await pushAll(target.url, repo, image, 'v1');
    const pulled = await send(locationOf(reply), { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, image.manifest.bytes);
  });

  it('PUT by digest answers 201 and the manifest is pullable by that digest', async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    const reply = await pushAll(target.url, repo, image);
    assert.equal(reply.header('docker-content-digest'), image.manifest.digest);
    const pulled = await getManifest(repo, image.manifest.digest);
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, image.manifest.bytes);
  });

  it('a manifest pushed by tag is also pullable by its digest', async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    await pushAll(target.url, repo, image, 'v1');
    const pulled = await getManifest(repo, image.manifest.digest);
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, image.manifest.bytes);
  });

  it('is stored byte for byte: unusual whitespace and key order come back unchanged', async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const doc = JSON.parse(image.manifest.bytes.toString('utf8')) as Record<string, unknown>;
    const reordered = {
      layers: doc.layers,
      config: doc.config,
      mediaType: doc.mediaType,
      schemaVersion: doc.schemaVersion,
    };
    const bytes = Buffer.from(`\n${JSON.stringify(reordered, null, 3).replace(/\n/g, '\r\n')}  \n\n`);
    const manifest = { mediaType: MediaType.ociManifest, digest: digestOf(bytes), bytes };
    const put = await putManifest(target.url, repo, 'odd', manifest);
    assert.equal(put.status, 201, put.describe());
    assert.equal(put.header('docker-content-digest'), digestOf(bytes));
    const pulled = await getManifest(repo, 'odd');
    assert.deepEqual(pulled.body, bytes);
    assert.equal(pulled.header('docker-content-digest'), digestOf(bytes));
  });

  it('ignores parameters on the Content-Type header and serves the bare media type', async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const put = await send(manifestUrl(repo, 'v1'), {
      method: 'PUT',
      headers: { 'content-type': `${MediaType.ociManifest}; charset=utf-8` },
      body: image.manifest.bytes,
    });
    assert.equal(put.status, 201, put.describe());
    const pulled = await getManifest(repo, 'v1');
    assert.equal(pulled.header('content-type'), MediaType.ociManifest);
  });

  it('may list no layers at all', async () => {
    const repo = uniqueRepo('manifest');
    const config = blobOf('{}', MediaType.ociEmpty);
    await pushBlob(target.url, repo, config.bytes);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: 'application/vnd.berth.empty',
        config: descriptorOf(config),
        layers: [],
      }),
    );
    const reply = await putManifest(target.url, repo, 'empty', {
      mediaType: MediaType.ociManifest,
      digest: digestOf(bytes),
      bytes,
    });
    assert.equal(reply.status, 201, reply.describe());
  });

  it('a tag pushed again points to the new manifest', async () => {
    const repo = uniqueRepo('manifest');
    const first = makeImage();
    const second = makeImage();
    await pushAll(target.url, repo, first, 'moving');
    await pushAll(target.url, repo, second, 'moving');
    const pulled = await getManifest(repo, 'moving');
    assert.equal(pulled.header('docker-content-digest'), second.manifest.digest);
    assert.deepEqual(pulled.body, second.manifest.bytes);
  });

  it('the same manifest pushed twice to the same tag answers 201 both times', async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    await pushAll(target.url, repo, image, 'same');
    const again = await putManifest(target.url, repo, 'same', image.manifest);
    assert.equal(again.status, 201, again.describe());
  });

  it('an artifact manifest with artifactType is accepted and served byte for byte', async () => {
    const repo = uniqueRepo('manifest');
    const artifact = makeArtifact({ artifactType: 'application/vnd.berth.test.sbom' });
    await pushAll(target.url, repo, artifact, 'sbom');
    const pulled = await getManifest(repo, 'sbom');
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, artifact.manifest.bytes);
    assert.equal(pulled.header('content-type'), MediaType.ociManifest);
  });

  it('PUT by a digest that does not match the body is refused with 400 DIGEST_INVALID', async () => {
    const repo = uniqueRepo('manifest');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const reply = await putManifest(target.url, repo, digestOf('something else'), image.manifest);
    assertError(reply, 400, 'DIGEST_INVALID');
  });
});

describe('pushing an OCI image index', () => {
  it('answers 201 once its child manifests are pushed, and is served byte for byte', async () => {
    const repo = uniqueRepo('index');
    const index = makeIndex();
    const reply = await pushAll(target.url, repo, index, 'multi');
    assert.equal(reply.header('docker-content-digest'), index.manifest.digest);
    const pulled = await getManifest(repo, 'multi');
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, index.manifest.bytes);
    assert.equal(pulled.header('content-type'), MediaType.ociIndex);
  });

  it('each child manifest is pullable by digest', async () => {
    const repo = uniqueRepo('index');
    const index = makeIndex();
    await pushAll(target.url, repo, index, 'multi');
    for (const child of index.manifests) {
      const pulled = await getManifest(repo, child.digest);
      assert.equal(pulled.status, 200, pulled.describe());
      assert.deepEqual(pulled.body, child.bytes);
    }
  });

  it('an index whose child manifest is missing is refused with 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('index');
    const index = makeIndex();
    for (const blob of index.blobs) await pushBlob(target.url, repo, blob.bytes, blob.digest);
    assertStatus(await putManifest(target.url, repo, index.manifests[0]!.digest, index.manifests[0]!), 201);
    const reply = await putManifest(target.url, repo, 'broken', index.manifest);
    assertError(reply, 400, 'MANIFEST_BLOB_UNKNOWN');
    assertError(await getManifest(repo, 'broken'), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('pushing Docker schema 2 manifests', () => {
  it('a Docker image manifest is accepted and served with its media type, byte for byte', async () => {
    const repo = uniqueRepo('docker');
    const image = makeImage({ format: 'docker' });
    await pushAll(target.url, repo, image, 'v2s2');
    const pulled = await getManifest(repo, 'v2s2');
    assert.equal(pulled.status, 200, pulled.describe());
    assert.equal(pulled.header('content-type'), MediaType.dockerManifest);
    assert.deepEqual(pulled.body, image.manifest.bytes);
    assert.equal(pulled.header('docker-content-digest'), image.manifest.digest);
  });

  it('a Docker manifest list is accepted and served with its media type, byte for byte', async () => {
    const repo = uniqueRepo('docker');
    const list = makeIndex({ format: 'docker' });
    await pushAll(target.url, repo, list, 'list');
    const pulled = await getManifest(repo, 'list');
    assert.equal(pulled.status, 200, pulled.describe());
    assert.equal(pulled.header('content-type'), MediaType.dockerManifestList);
    assert.deepEqual(pulled.body, list.manifest.bytes);
  });

  it('a Docker manifest list whose child is missing is refused with 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('docker');
    const list = makeIndex({ format: 'docker' });
    for (const blob of list.blobs) await pushBlob(target.url, repo, blob.bytes, blob.digest);
    assertError(await putManifest(target.url, repo, 'broken', list.manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
  });
});

describe('manifests that reference missing blobs', () => {
  it('a missing layer is refused with 400 MANIFEST_BLOB_UNKNOWN and nothing is tagged', async () => {
    const repo = uniqueRepo('missing');
    const image = makeImage({ layerSizes: [100, 200] });
    await pushBlob(target.url, repo, image.config.bytes);
    await pushBlob(target.url, repo, image.layers[0]!.bytes);
    assertError(await putManifest(target.url, repo, 'v1', image.manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    assertError(await getManifest(repo, 'v1'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });

  it('a missing config is refused with 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('missing');
    const image = makeImage();
    await pushBlob(target.url, repo, image.layers[0]!.bytes);
    assertError(await putManifest(target.url, repo, 'v1', image.manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('a blob that exists only in another repository counts as missing', async () => {
    const elsewhere = uniqueRepo('missing-src');
    const repo = uniqueRepo('missing');
    const image = makeImage();
    for (const blob of image.blobs) await pushBlob(target.url, elsewhere, blob.bytes, blob.digest);
    assertError(await putManifest(target.url, repo, 'v1', image.manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('a subject that does not exist is accepted (referrers may be pushed first)', async () => {
    const repo = uniqueRepo('missing');
    const subject = makeImage();
    const artifact = makeArtifact({ subject: descriptorOf(subject.manifest) });
    const reply = await pushAll(target.url, repo, artifact);
    assert.equal(reply.status, 201, reply.describe());
  });
});

describe('manifest size limit', () => {
  async function paddedManifest(repo: string, size: number) {
    const image = makeImage();
    for (const blob of image.blobs) await pushBlob(target.url, repo, blob.bytes, blob.digest);
    const doc = JSON.parse(image.manifest.bytes.toString('utf8')) as Record<string, unknown>;
    const skeleton = Buffer.byteLength(JSON.stringify({ ...doc, annotations: { 'org.berth.padding': '' } }));
    const bytes = Buffer.from(
      JSON.stringify({ ...doc, annotations: { 'org.berth.padding': 'x'.repeat(size - skeleton) } }),
    );
    assert.equal(bytes.length, size);
    return { mediaType: MediaType.ociManifest, digest: digestOf(bytes), bytes };
  }

  it('a manifest of exactly 4 MiB is accepted', async () => {
    const repo = uniqueRepo('size');
    const manifest = await paddedManifest(repo, 4 * 1024 * 1024);
    const reply = await putManifest(target.url, repo, 'big', manifest);
    assert.equal(reply.status, 201, reply.describe());
    const pulled = await getManifest(repo, 'big');
    assert.equal(digestOf(pulled.body), manifest.digest);
  });

  it('a manifest over 4 MiB is refused with 413 Payload Too Large', async () => {
    const repo = uniqueRepo('size');
    const manifest = await paddedManifest(repo, 4 * 1024 * 1024 + 1);
    assertError(await putManifest(target.url, repo, 'too-big', manifest), 413, 'SIZE_INVALID');
    assertError(await getManifest(repo, 'too-big'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });
});

describe('pushing manifests with a subject', () => {
  it('an image manifest with subject answers OCI-Subject: <subject digest>', async () => {
    const repo = uniqueRepo('subject');
    const subject = makeImage();
    await pushAll(target.url, repo, subject, 'v1');
    const artifact = makeArtifact({ subject: descriptorOf(subject.manifest) });
    const reply = await pushAll(target.url, repo, artifact);
    assert.equal(reply.header('oci-subject'), subject.manifest.digest, reply.describe());
  });

  it('an index with subject answers OCI-Subject', async () => {
    const repo = uniqueRepo('subject');
    const subject = makeImage();
    await pushAll(target.url, repo, subject, 'v1');
    const index = makeIndex({ subject: descriptorOf(subject.manifest) });
    const reply = await pushAll(target.url, repo, index);
    assert.equal(reply.header('oci-subject'), subject.manifest.digest, reply.describe());
  });

  it('a manifest without subject answers no OCI-Subject', async () => {
    const reply = await pushAll(target.url, uniqueRepo('subject'), makeImage(), 'v1');
    assert.equal(reply.header('oci-subject'), undefined);
  });
});

describe('pushing a manifest with several tags (?tag=)', () => {
  it('PUT by digest with tag parameters answers 201 and an OCI-Tag header naming each tag', async () => {
    const repo = uniqueRepo('tags');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const reply = await putManifest(target.url, repo, image.manifest.digest, image.manifest, {
      tag: ['1.2.3', '1.2', '1', 'latest'],
    });
    assert.equal(reply.status, 201, reply.describe());
    const tags = reply.headerValues('oci-tag').flatMap((v) => v.split(',').map((t) => t.trim()));
    assert.deepEqual([...tags].sort(), ['1', '1.2', '1.2.3', 'latest']);
  });

  it('every tag of a multi-tag push then serves the manifest', async () => {
    const repo = uniqueRepo('tags');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    assertStatus(
      await putManifest(target.url, repo, image.manifest.digest, image.manifest, { tag: ['a', 'b', 'c'] }),
      201,
    );
    for (const tag of ['a', 'b', 'c']) {
      const pulled = await getManifest(repo, tag);
      assert.equal(pulled.status, 200, pulled.describe());
      assert.equal(pulled.header('docker-content-digest'), image.manifest.digest);
    }
  });

  it('ten tags in one request are all created', async () => {
    const repo = uniqueRepo('tags');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const wanted = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const reply = await putManifest(target.url, repo, image.manifest.digest, image.manifest, { tag: wanted });
    assert.equal(reply.status, 201, reply.describe());
    const list = await send(`${target.url}/v2/${repo}/tags/list`);
    assert.deepEqual(list.json<{ tags: string[] }>().tags, [...wanted].sort());
  });
});

describe('deleting tags and manifests', () => {
  it('DELETE by tag answers 202 Accepted, then the tag answers 404', async () => {
    const repo = uniqueRepo('delete');
    await pushAll(target.url, repo, makeImage(), 'gone');
    const reply = await send(manifestUrl(repo, 'gone'), { method: 'DELETE' });
    assert.equal(reply.status, 202, reply.describe());
    assertError(await getManifest(repo, 'gone'), 404, 'MANIFEST_UNKNOWN');
  });

  it('DELETE by tag leaves the manifest pullable by digest and other tags in place', async () => {
    const repo = uniqueRepo('delete');
    const image = makeImage();
    await pushAll(target.url, repo, image, 'one');
    assertStatus(await putManifest(target.url, repo, 'two', image.manifest), 201);
    assertStatus(await send(manifestUrl(repo, 'one'), { method: 'DELETE' }), 202);
    assert.equal((await getManifest(repo, image.manifest.digest)).status, 200);
    assert.equal((await getManifest(repo, 'two')).status, 200);
    const tags = await send(`${target.url}/v2/${repo}/tags/list`);
    assert.deepEqual(tags.json<{ tags: string[] }>().tags, ['two']);
  });

  it('DELETE by digest answers 202, then the digest and every tag on it answer 404', async () => {
    const repo = uniqueRepo('delete');
    const image = makeImage();
    await pushAll(target.url, repo, image, 'first');
    assertStatus(await putManifest(target.url, repo, 'second', image.manifest), 201);
    const reply = await send(manifestUrl(repo, image.manifest.digest), { method: 'DELETE' });
    assert.equal(reply.status, 202, reply.describe());
    assertError(await getManifest(repo, image.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    assertError(await getManifest(repo, 'first'), 404, 'MANIFEST_UNKNOWN');
    assertError(await getManifest(repo, 'second'), 404, 'MANIFEST_UNKNOWN');
    assertError(
      await send(manifestUrl(repo, image.manifest.digest), { method: 'HEAD' }),
      404,
      'MANIFEST_UNKNOWN',
    );
  });

  it('DELETE of an unknown manifest answers 404 MANIFEST_UNKNOWN', async () => {
    const repo = uniqueRepo('delete');
    await pushAll(target.url, repo, makeImage(), 'v1');
    assertError(
      await send(manifestUrl(repo, digestOf('not a manifest')), { method: 'DELETE' }),
      404,
      'MANIFEST_UNKNOWN',
    );
    assertError(await send(manifestUrl(repo, 'no-such-tag'), { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
  });

  it('DELETE in a repository that does not exist answers 404', async () => {
    const reply = await send(manifestUrl(uniqueRepo('nowhere'), digestOf('x')), { method: 'DELETE' });
    assertError(reply, 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
  });
});

describe('deleting blobs', () => {
  it('DELETE answers 202 Accepted, then the blob answers 404 BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('delete-blob');
    const bytes = randomBlob(300);
    await pushBlob(target.url, repo, bytes);
    const reply = await send(`${target.url}/v2/${repo}/blobs/${digestOf(bytes)}`, { method: 'DELETE' });
    assert.equal(reply.status, 202, reply.describe());
    assertError(await send(`${target.url}/v2/${repo}/blobs/${digestOf(bytes)}`), 404, 'BLOB_UNKNOWN');
  });

  it('DELETE of a blob in one repository leaves it in another', async () => {
    const one = uniqueRepo('delete-blob');
    const two = uniqueRepo('delete-blob');
    const bytes = randomBlob(300);
    await pushBlob(target.url, one, bytes);
    await pushBlob(target.url, two, bytes);
    assertStatus(await send(`${target.url}/v2/${one}/blobs/${digestOf(bytes)}`, { method: 'DELETE' }), 202);
    const kept = await send(`${target.url}/v2/${two}/blobs/${digestOf(bytes)}`);
    assert.equal(kept.status, 200, kept.describe());
    assert.deepEqual(kept.body, bytes);
  });

  it('DELETE of an unknown blob answers 404 BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('delete-blob');
    await pushBlob(target.url, repo, randomBlob(10));
    assertError(
      await send(`${target.url}/v2/${repo}/blobs/${digestOf('nothing')}`, { method: 'DELETE' }),
      404,
      'BLOB_UNKNOWN',
    );
  });
});

describe('manifest validation', () => {
  it('a body that is not JSON is refused with 400 MANIFEST_INVALID', async () => {
    const bytes = Buffer.from('{"schemaVersion": 2, "mediaType": ');
    const reply = await putManifest(target.url, uniqueRepo('invalid'), 'v1', {
      mediaType: MediaType.ociManifest,
      digest: digestOf(bytes),
      bytes,
    });
    assertError(reply, 400, 'MANIFEST_INVALID');
  });

  it('an image manifest without config is refused with 400 MANIFEST_INVALID', async () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [] }),
    );
    const reply = await putManifest(target.url, uniqueRepo('invalid'), 'v1', {
      mediaType: MediaType.ociManifest,
      digest: digestOf(bytes),
      bytes,
    });
    assertError(reply, 400, 'MANIFEST_INVALID');
  });

  it('an unsupported manifest media type is refused with 415 MANIFEST_INVALID', async () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.unknown+json', things: [] }),
    );
    const reply = await putManifest(target.url, uniqueRepo('invalid'), 'v1', {
      mediaType: 'application/vnd.example.unknown+json',
      digest: digestOf(bytes),
      bytes,
    });
    assertError(reply, 415, 'MANIFEST_INVALID');
  });
});
