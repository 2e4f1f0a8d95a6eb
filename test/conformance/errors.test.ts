/**
 * Error codes: every code of the spec's table, each answered with its status and the envelope
 * `{"errors":[{"code","message","detail"?}]}`. Berth's statuses: BLOB_UNKNOWN 404,
 * BLOB_UPLOAD_INVALID 400 (416 out of order), BLOB_UPLOAD_UNKNOWN 404, DIGEST_INVALID 400,
 * MANIFEST_BLOB_UNKNOWN 400, MANIFEST_INVALID 400 (415 unsupported media type), MANIFEST_UNKNOWN 404,
 * NAME_INVALID 400, NAME_UNKNOWN 404, SIZE_INVALID 400 (413 oversized manifest), UNAUTHORIZED 401,
 * DENIED 403, UNSUPPORTED 405, TOOMANYREQUESTS 429 (with Retry-After).
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import bcrypt from 'bcryptjs';

import { MediaType, makeImage } from '../support/fixtures.js';
import {
  BERTH_ONLY,
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

describe('BLOB_UNKNOWN', () => {
  it('GET of a blob the repository does not hold answers 404 BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('errors');
    await pushBlob(target.url, repo, randomBlob(10));
    assertError(await send(`${target.url}/v2/${repo}/blobs/${digestOf('absent')}`), 404, 'BLOB_UNKNOWN');
  });
});

describe('BLOB_UPLOAD_INVALID', () => {
  it('a chunk out of order answers 416 BLOB_UPLOAD_INVALID', async () => {
    const session = await startUpload(target.url, uniqueRepo('errors'));
    const reply = await send(session, {
      method: 'PATCH',
      headers: { 'content-range': '5-9' },
      body: randomBlob(5),
    });
    assertError(reply, 416, 'BLOB_UPLOAD_INVALID');
  });

  it('a Content-Range that is not <start>-<end> answers 400 BLOB_UPLOAD_INVALID', async () => {
    const session = await startUpload(target.url, uniqueRepo('errors'));
    const reply = await send(session, {
      method: 'PATCH',
      headers: { 'content-range': 'abc' },
      body: randomBlob(5),
    });
    assertError(reply, 400, 'BLOB_UPLOAD_INVALID');
  });
});

describe('BLOB_UPLOAD_UNKNOWN', () => {
  it('GET of an upload session that never existed answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const repo = uniqueRepo('errors');
    await startUpload(target.url, repo);
    const reply = await send(`${target.url}/v2/${repo}/blobs/uploads/3b7a0c1e-2d4f-4a6b-9c8d-0e1f2a3b4c5d`);
    assertError(reply, 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('DIGEST_INVALID', () => {
  it('closing an upload with a digest its content does not have answers 400 DIGEST_INVALID', async () => {
    const session = await startUpload(target.url, uniqueRepo('errors'));
    const reply = await send(withQuery(session, { digest: digestOf('other') }), {
      method: 'PUT',
      body: randomBlob(10),
    });
    assertError(reply, 400, 'DIGEST_INVALID');
  });
});

describe('MANIFEST_BLOB_UNKNOWN', () => {
  it('a manifest referencing a blob the repository lacks answers 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const image = makeImage();
    assertError(
      await putManifest(target.url, uniqueRepo('errors'), 'v1', image.manifest),
      400,
      'MANIFEST_BLOB_UNKNOWN',
    );
  });
});

describe('MANIFEST_INVALID', () => {
  it('a manifest that is not JSON answers 400 MANIFEST_INVALID', async () => {
    const bytes = Buffer.from('not json');
    assertError(
      await putManifest(target.url, uniqueRepo('errors'), 'v1', {
        mediaType: MediaType.ociManifest,
        digest: digestOf(bytes),
        bytes,
      }),
      400,
      'MANIFEST_INVALID',
    );
  });

  it('a manifest of an unsupported media type answers 415 MANIFEST_INVALID', async () => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }));
    const reply = await putManifest(target.url, uniqueRepo('errors'), 'v1', {
      mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
      digest: digestOf(bytes),
      bytes,
    });
    assertError(reply, 415, 'MANIFEST_INVALID');
  });
});

describe('MANIFEST_UNKNOWN', () => {
  it('GET of a tag the repository does not have answers 404 MANIFEST_UNKNOWN', async () => {
    const repo = uniqueRepo('errors');
    await pushAll(target.url, repo, makeImage(), 'v1');
    assertError(await send(`${target.url}/v2/${repo}/manifests/v2`), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('NAME_INVALID', () => {
  it('a repository name outside the grammar answers 400 NAME_INVALID', async () => {
    assertError(
      await send(`${target.url}/v2/Bad..Name/blobs/uploads/`, { method: 'POST' }),
      400,
      'NAME_INVALID',
    );
  });
});

describe('NAME_UNKNOWN', () => {
  it('listing the tags of a repository that does not exist answers 404 NAME_UNKNOWN', async () => {
    assertError(await send(`${target.url}/v2/${uniqueRepo('errors')}/tags/list`), 404, 'NAME_UNKNOWN');
  });
});

describe('SIZE_INVALID', () => {
  it('a chunk whose Content-Range length differs from its Content-Length answers 400 SIZE_INVALID', async () => {
    const session = await startUpload(target.url, uniqueRepo('errors'));
    const reply = await send(session, {
      method: 'PATCH',
      headers: { 'content-range': '0-99' },
      body: randomBlob(50),
    });
    assertError(reply, 400, 'SIZE_INVALID');
  });

  it('a manifest over 4 MiB answers 413 SIZE_INVALID', async () => {
    const bytes = Buffer.alloc(4 * 1024 * 1024 + 100, ' ');
    bytes.write('{}');
    const reply = await putManifest(target.url, uniqueRepo('errors'), 'v1', {
      mediaType: MediaType.ociManifest,
      digest: digestOf(bytes),
      bytes,
    });
    assertError(reply, 413, 'SIZE_INVALID');
  });
});

describe('UNSUPPORTED', () => {
  it('a method the endpoint does not define answers 405 UNSUPPORTED', async () => {
    const reply = await send(`${target.url}/v2/${uniqueRepo('errors')}/tags/list`, { method: 'DELETE' });
    assertError(reply, 405, 'UNSUPPORTED');
  });
});

describe('UNAUTHORIZED and DENIED (htpasswd users and an access policy)', { skip: BERTH_ONLY }, () => {
  let secured: Target;
  let htpasswd: string;
  const basic = (user: string, password: string): Record<string, string> => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });

  before(async () => {
    htpasswd = path.join(tmpdir(), `${uniqueRepo('conformance-htpasswd')}`);
    await writeFile(
      htpasswd,
      `reader:${bcrypt.hashSync('reader-pw', 4)}\nwriter:${bcrypt.hashSync('writer-pw', 4)}\n`,
    );
    secured = await startTarget({
      config: {
        http: {
          auth: { htpasswd: { path: htpasswd } },
          accessControl: {
            repositories: {
              '**': {
                policies: [
                  { users: ['reader'], actions: ['read'] },
                  { users: ['writer'], actions: ['read', 'create', 'update', 'delete'] },
                ],
              },
            },
          },
        },
      },
    });
  });
  after(async () => {
    await secured?.stop();
    await rm(htpasswd, { force: true });
  });

  it('an anonymous push answers 401 UNAUTHORIZED with a WWW-Authenticate challenge', async () => {
    const reply = await send(`${secured.url}/v2/${uniqueRepo('auth')}/blobs/uploads/`, { method: 'POST' });
    assertError(reply, 401, 'UNAUTHORIZED');
    assert.ok(reply.header('www-authenticate'), `a challenge: ${reply.describe()}`);
  });

  it('a wrong password answers 401 UNAUTHORIZED', async () => {
    const reply = await send(`${secured.url}/v2/${uniqueRepo('auth')}/tags/list`, {
      headers: basic('reader', 'wrong'),
    });
    assertError(reply, 401, 'UNAUTHORIZED');
  });

  it('a user allowed only to read answers 403 DENIED to a push', async () => {
    const reply = await send(`${secured.url}/v2/${uniqueRepo('auth')}/blobs/uploads/`, {
      method: 'POST',
      headers: basic('reader', 'reader-pw'),
    });
    assertError(reply, 403, 'DENIED');
  });

  it('the same push succeeds for a user allowed to create', async () => {
    const reply = await send(`${secured.url}/v2/${uniqueRepo('auth')}/blobs/uploads/`, {
      method: 'POST',
      headers: basic('writer', 'writer-pw'),
    });
    assertStatus(reply, 202);
  });

  it('a user allowed only to read answers 403 DENIED to a manifest delete', async () => {
    const repo = uniqueRepo('auth');
    const image = makeImage();
    const writer = basic('writer', 'writer-pw');
    for (const blob of image.blobs) {
      const session = await send(`${secured.url}/v2/${repo}/blobs/uploads/`, {
        method: 'POST',
        headers: writer,
      });
      assertStatus(session, 202);
      assertStatus(
        await send(withQuery(locationOf(session), { digest: blob.digest }), {
          method: 'PUT',
          headers: writer,
          body: blob.bytes,
        }),
        201,
      );
    }
    const put = await send(`${secured.url}/v2/${repo}/manifests/v1`, {
      method: 'PUT',
      headers: { ...writer, 'content-type': image.manifest.mediaType },
      body: image.manifest.bytes,
    });
    assertStatus(put, 201);
    const reply = await send(`${secured.url}/v2/${repo}/manifests/v1`, {
      method: 'DELETE',
      headers: basic('reader', 'reader-pw'),
    });
    assertError(reply, 403, 'DENIED');
  });
});

describe('TOOMANYREQUESTS (http.ratelimit)', { skip: BERTH_ONLY }, () => {
  let limited: Target;
  before(async () => {
    limited = await startTarget({ config: { http: { ratelimit: { rate: 1 } } } });
  });
  after(async () => {
    await limited?.stop();
  });

  it('requests beyond the rate answer 429 TOOMANYREQUESTS with Retry-After', async () => {
    const replies = await Promise.all(
      Array.from({ length: 30 }, () => send(`${limited.url}/v2/${uniqueRepo('limit')}/tags/list`)),
    );
    const refused = replies.find((r) => r.status === 429);
    assert.ok(
      refused,
      `one of 30 simultaneous requests at 1 request/s is refused: ${replies.map((r) => r.status).join(' ')}`,
    );
    assertError(refused, 429, 'TOOMANYREQUESTS');
    assert.ok(refused.header('retry-after'), `Retry-After: ${refused.describe()}`);
  });
});

describe('error bodies', () => {
  it('every error answer is JSON with the errors envelope (a missing manifest in an image index)', async () => {
    const repo = uniqueRepo('errors');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { mediaType: MediaType.ociManifest, digest: image.manifest.digest, size: image.manifest.size },
        ],
      }),
    );
    const reply = await putManifest(target.url, repo, 'index', {
      mediaType: MediaType.ociIndex,
      digest: digestOf(bytes),
      bytes,
    });
    assertError(reply, 400, 'MANIFEST_BLOB_UNKNOWN');
  });
});
