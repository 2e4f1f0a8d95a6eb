/**
 * Push: blob uploads. Monolithic (`POST` then `PUT ?digest=`, end-4a/end-6; single `POST ?digest=`,
 * end-4b), chunked (`PATCH` with `Content-Range` in order, 416 out of order, end-5), streamed
 * `PATCH` without `Content-Range`, upload status (end-13), cancel (end-14) and cross-repository
 * mount (end-11). Every `Location` is followed as the registry gave it, relative or absolute.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertError,
  assertStatus,
  digestOf,
  locationOf,
  pushBlob,
  randomBlob,
  send,
  startTarget,
  startUpload,
  uniqueRepo,
  withQuery,
  type Reply,
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

function patch(location: string, chunk: Buffer, start?: number): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (start !== undefined) headers['content-range'] = `${start}-${start + chunk.length - 1}`;
  return send(location, { method: 'PATCH', headers, body: chunk });
}

function close(
  location: string,
  digest: string,
  finalChunk?: { bytes: Buffer; start: number },
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (finalChunk) {
    headers['content-type'] = 'application/octet-stream';
    headers['content-range'] = `${finalChunk.start}-${finalChunk.start + finalChunk.bytes.length - 1}`;
  }
  return send(withQuery(location, { digest }), {
    method: 'PUT',
    headers,
    ...(finalChunk ? { body: finalChunk.bytes } : {}),
  });
}

async function assertBlob(repo: string, bytes: Buffer): Promise<void> {
  const reply = await send(blobUrl(repo, digestOf(bytes)));
  assert.equal(reply.status, 200, reply.describe());
  assert.equal(digestOf(reply.body), digestOf(bytes), 'the served blob hashes to its digest');
}

describe('POST then PUT (monolithic upload)', () => {
  it('POST /blobs/uploads/ answers 202 Accepted with a Location', async () => {
    const reply = await send(`${target.url}/v2/${uniqueRepo('push')}/blobs/uploads/`, { method: 'POST' });
    assert.equal(reply.status, 202, reply.describe());
    assert.ok(reply.header('location'), 'Location header');
  });

  it('each POST opens a different session', async () => {
    const repo = uniqueRepo('push');
    const first = await startUpload(target.url, repo);
    const second = await startUpload(target.url, repo);
    assert.notEqual(first, second);
  });

  it('PUT <location>?digest= with the whole blob answers 201 Created', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(4096);
    const reply = await close(await startUpload(target.url, repo), digestOf(bytes), { bytes, start: 0 });
    assert.equal(reply.status, 201, reply.describe());
  });

  it("PUT's Location is a pullable blob URL", async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(4096);
    const session = await startUpload(target.url, repo);
    const put = await send(withQuery(session, { digest: digestOf(bytes) }), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assertStatus(put, 201);
    const pulled = await send(locationOf(put));
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, bytes);
  });

  it("PUT's answer carries Docker-Content-Digest", async () => {
    const bytes = randomBlob(100);
    const reply = await pushBlob(target.url, uniqueRepo('push'), bytes);
    assert.equal(reply.header('docker-content-digest'), digestOf(bytes));
  });

  it('the pushed blob answers HEAD with its size', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(12345);
    await pushBlob(target.url, repo, bytes);
    const head = await send(blobUrl(repo, digestOf(bytes)), { method: 'HEAD' });
    assert.equal(head.status, 200, head.describe());
    assert.equal(head.header('content-length'), '12345');
  });

  it('pushing a blob the repository already holds succeeds again', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(2000);
    await pushBlob(target.url, repo, bytes);
    await pushBlob(target.url, repo, bytes);
    await assertBlob(repo, bytes);
  });

  it('an empty blob (0 bytes) can be pushed and pulled', async () => {
    const repo = uniqueRepo('push');
    const empty = Buffer.alloc(0);
    await pushBlob(target.url, repo, empty);
    const reply = await send(blobUrl(repo, digestOf(empty)));
    assert.equal(reply.status, 200, reply.describe());
    assert.equal(reply.body.length, 0);
  });
});

describe('single POST (monolithic upload)', () => {
  it('POST /blobs/uploads/?digest= with the body answers 201 with a pullable Location', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(3000);
    const reply = await send(
      withQuery(`${target.url}/v2/${repo}/blobs/uploads/`, { digest: digestOf(bytes) }),
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      },
    );
    assert.equal(reply.status, 201, reply.describe());
    const pulled = await send(locationOf(reply));
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, bytes);
  });
});

describe('chunked upload', () => {
  it('a PATCH with Content-Range answers 202 with Location and Range: 0-<end>', async () => {
    const session = await startUpload(target.url, uniqueRepo('push'));
    const reply = await patch(session, randomBlob(1000), 0);
    assert.equal(reply.status, 202, reply.describe());
    assert.ok(reply.header('location'), 'Location header');
    assert.equal(reply.header('range'), '0-999');
  });

  it('chunks in order, then PUT ?digest= without a body, make the blob (201)', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(300_000);
    let location = await startUpload(target.url, repo);
    for (let start = 0; start < bytes.length; start += 100_000) {
      const reply = await patch(location, bytes.subarray(start, start + 100_000), start);
      assert.equal(reply.status, 202, reply.describe());
      assert.equal(reply.header('range'), `0-${start + 100_000 - 1}`);
      location = locationOf(reply);
    }
    const put = await close(location, digestOf(bytes));
    assert.equal(put.status, 201, put.describe());
    assert.equal(put.header('docker-content-digest'), digestOf(bytes));
    await assertBlob(repo, bytes);
  });

  it('the final chunk may come with the closing PUT', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(5000);
    const first = await patch(await startUpload(target.url, repo), bytes.subarray(0, 3000), 0);
    assertStatus(first, 202);
    const put = await close(locationOf(first), digestOf(bytes), { bytes: bytes.subarray(3000), start: 3000 });
    assert.equal(put.status, 201, put.describe());
    await assertBlob(repo, bytes);
  });

  it('a chunk that leaves a gap is refused with 416', async () => {
    const session = await startUpload(target.url, uniqueRepo('push'));
    const first = await patch(session, randomBlob(100), 0);
    assertStatus(first, 202);
    const gap = await patch(locationOf(first), randomBlob(100), 101);
    assert.equal(gap.status, 416, gap.describe());
  });

  it('a chunk that repeats bytes already received is refused with 416', async () => {
    const session = await startUpload(target.url, uniqueRepo('push'));
    const first = await patch(session, randomBlob(100), 0);
    assertStatus(first, 202);
    const again = await patch(locationOf(first), randomBlob(100), 50);
    assert.equal(again.status, 416, again.describe());
  });

  it('a first chunk that does not begin at 0 is refused with 416', async () => {
    const session = await startUpload(target.url, uniqueRepo('push'));
    const reply = await patch(session, randomBlob(100), 10);
    assert.equal(reply.status, 416, reply.describe());
  });

  it('a final chunk out of order in the closing PUT is refused with 416', async () => {
    const bytes = randomBlob(200);
    const first = await patch(await startUpload(target.url, uniqueRepo('push')), bytes.subarray(0, 100), 0);
    assertStatus(first, 202);
    const put = await close(locationOf(first), digestOf(bytes), { bytes: bytes.subarray(100), start: 150 });
    assert.equal(put.status, 416, put.describe());
  });

  it('after a 416, GET tells the valid offset and the upload resumes to completion', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(3000);
    const first = await patch(await startUpload(target.url, repo), bytes.subarray(0, 1000), 0);
    assertStatus(first, 202);
    const wrong = await patch(locationOf(first), bytes.subarray(1500, 2000), 1500);
    assert.equal(wrong.status, 416, wrong.describe());
    const status = await send(locationOf(first));
    assert.equal(status.status, 204, status.describe());
    assert.equal(status.header('range'), '0-999');
    const resumed = await patch(locationOf(status), bytes.subarray(1000), 1000);
    assert.equal(resumed.status, 202, resumed.describe());
    const put = await close(locationOf(resumed), digestOf(bytes));
    assert.equal(put.status, 201, put.describe());
    await assertBlob(repo, bytes);
  });
});

describe('streamed upload (PATCH without Content-Range)', () => {
  it('a streamed PATCH answers 202 with Range: 0-<end>', async () => {
    const bytes = randomBlob(200_000);
    const session = await startUpload(target.url, uniqueRepo('push'));
    const reply = await send(session, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream' },
      body: [bytes.subarray(0, 65_536), bytes.subarray(65_536, 150_000), bytes.subarray(150_000)],
    });
    assert.equal(reply.status, 202, reply.describe());
    assert.equal(reply.header('range'), `0-${bytes.length - 1}`);
  });

  it('a streamed PATCH then PUT ?digest= makes the blob', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(200_000);
    const reply = await send(await startUpload(target.url, repo), {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream' },
      body: [bytes.subarray(0, 100_000), bytes.subarray(100_000)],
    });
    assertStatus(reply, 202);
    const put = await close(locationOf(reply), digestOf(bytes));
    assert.equal(put.status, 201, put.describe());
    await assertBlob(repo, bytes);
  });

  it('two streamed PATCHes append to each other', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(10_000);
    const first = await send(await startUpload(target.url, repo), {
      method: 'PATCH',
      body: [bytes.subarray(0, 4000)],
    });
    assertStatus(first, 202);
    const second = await send(locationOf(first), { method: 'PATCH', body: [bytes.subarray(4000)] });
    assertStatus(second, 202);
    assert.equal(second.header('range'), '0-9999');
    const put = await close(locationOf(second), digestOf(bytes));
    assert.equal(put.status, 201, put.describe());
    await assertBlob(repo, bytes);
  });
});

describe('upload status (GET <location>)', () => {
  it('answers 204 No Content with Location and Range: 0-<end> after a chunk', async () => {
    const first = await patch(await startUpload(target.url, uniqueRepo('push')), randomBlob(512), 0);
    assertStatus(first, 202);
    const reply = await send(locationOf(first));
    assert.equal(reply.status, 204, reply.describe());
    assert.ok(reply.header('location'), 'Location header');
    assert.equal(reply.header('range'), '0-511');
  });

  it('answers 204 with a Location for a session without data yet', async () => {
    const reply = await send(await startUpload(target.url, uniqueRepo('push')));
    assert.equal(reply.status, 204, reply.describe());
    assert.ok(reply.header('location'), 'Location header');
  });

  it("the status answer's Location continues the upload", async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(2048);
    const first = await patch(await startUpload(target.url, repo), bytes.subarray(0, 1024), 0);
    assertStatus(first, 202);
    const status = await send(locationOf(first));
    assertStatus(status, 204);
    const put = await close(locationOf(status), digestOf(bytes), {
      bytes: bytes.subarray(1024),
      start: 1024,
    });
    assert.equal(put.status, 201, put.describe());
    await assertBlob(repo, bytes);
  });

  it('answers 404 BLOB_UPLOAD_UNKNOWN once the upload is complete', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(64);
    const session = await startUpload(target.url, repo);
    assertStatus(await close(session, digestOf(bytes), { bytes, start: 0 }), 201);
    assertError(await send(session), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('cancelling an upload (DELETE <location>)', () => {
  it('answers 204 No Content', async () => {
    const first = await patch(await startUpload(target.url, uniqueRepo('push')), randomBlob(100), 0);
    assertStatus(first, 202);
    const reply = await send(locationOf(first), { method: 'DELETE' });
    assert.equal(reply.status, 204, reply.describe());
  });

  it('then GET of the session answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const session = await startUpload(target.url, uniqueRepo('push'));
    assertStatus(await send(session, { method: 'DELETE' }), 204);
    assertError(await send(session), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('then PATCH and PUT to the session answer 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const bytes = randomBlob(100);
    const session = await startUpload(target.url, uniqueRepo('push'));
    assertStatus(await send(session, { method: 'DELETE' }), 204);
    assertError(await patch(session, bytes, 0), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await close(session, digestOf(bytes), { bytes, start: 0 }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('a second DELETE answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const session = await startUpload(target.url, uniqueRepo('push'));
    assertStatus(await send(session, { method: 'DELETE' }), 204);
    assertError(await send(session, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('the bytes of a cancelled upload never become a blob', async () => {
    const repo = uniqueRepo('push');
    const bytes = randomBlob(100);
    const first = await patch(await startUpload(target.url, repo), bytes, 0);
    assertStatus(first, 202);
    assertStatus(await send(locationOf(first), { method: 'DELETE' }), 204);
    assertError(await send(blobUrl(repo, digestOf(bytes)), { method: 'HEAD' }), 404, 'BLOB_UNKNOWN');
  });
});

describe('mounting a blob from another repository', () => {
  it('answers 201 Created with a Location and Docker-Content-Digest when the source holds the blob', async () => {
    const source = uniqueRepo('mount-from');
    const dest = uniqueRepo('mount-to');
    const bytes = randomBlob(5000);
    await pushBlob(target.url, source, bytes);
    const reply = await send(
      withQuery(`${target.url}/v2/${dest}/blobs/uploads/`, { mount: digestOf(bytes), from: source }),
      {
        method: 'POST',
      },
    );
    assert.equal(reply.status, 201, reply.describe());
    assert.equal(reply.header('docker-content-digest'), digestOf(bytes));
    const pulled = await send(locationOf(reply));
    assert.equal(pulled.status, 200, pulled.describe());
    assert.deepEqual(pulled.body, bytes);
  });

  it('the mounted blob is served by the target repository', async () => {
    const source = uniqueRepo('mount-from');
    const dest = uniqueRepo('mount-to');
    const bytes = randomBlob(5000);
    await pushBlob(target.url, source, bytes);
    const mount = await send(
      withQuery(`${target.url}/v2/${dest}/blobs/uploads/`, { mount: digestOf(bytes), from: source }),
      {
        method: 'POST',
      },
    );
    assertStatus(mount, 201);
    await assertBlob(dest, bytes);
  });

  it('falls back to 202 and an upload session when no repository holds the blob', async () => {
    const dest = uniqueRepo('mount-to');
    const bytes = randomBlob(700);
    const reply = await send(
      withQuery(`${target.url}/v2/${dest}/blobs/uploads/`, {
        mount: digestOf(bytes),
        from: uniqueRepo('mount-from'),
      }),
      { method: 'POST' },
    );
    assert.equal(reply.status, 202, reply.describe());
    const put = await close(locationOf(reply), digestOf(bytes), { bytes, start: 0 });
    assert.equal(put.status, 201, put.describe());
    await assertBlob(dest, bytes);
  });

  it('falls back to 202 when the source repository does not exist', async () => {
    const reply = await send(
      withQuery(`${target.url}/v2/${uniqueRepo('mount-to')}/blobs/uploads/`, {
        mount: digestOf(randomBlob(10)),
        from: uniqueRepo('never-pushed'),
      }),
      { method: 'POST' },
    );
    assert.equal(reply.status, 202, reply.describe());
    assert.ok(reply.header('location'), 'Location header');
  });
});

describe('concurrent uploads', () => {
  it('two sessions uploading the same blob at once both succeed and the blob is intact', async () => {
    const repo = uniqueRepo('push-race');
    const bytes = randomBlob(2 * 1024 * 1024);
    const [a, b] = await Promise.all([pushBlob(target.url, repo, bytes), pushBlob(target.url, repo, bytes)]);
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    await assertBlob(repo, bytes);
  });

  it('the same blob uploaded at once to two repositories is served by both', async () => {
    const one = uniqueRepo('push-race');
    const two = uniqueRepo('push-race');
    const bytes = randomBlob(1024 * 1024);
    await Promise.all([pushBlob(target.url, one, bytes), pushBlob(target.url, two, bytes)]);
    await assertBlob(one, bytes);
    await assertBlob(two, bytes);
  });
});
