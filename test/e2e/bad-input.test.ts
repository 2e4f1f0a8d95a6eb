/**
 * Bad input: a table of malformed requests — bad digests, traversal names (plain and
 * percent-encoded), invalid and oversized manifests, wrong `Content-Range`, unknown and foreign
 * upload ids, digest mismatches, truncated bodies and clients that vanish mid-upload. Each is
 * answered with its 4xx and the OCI error body (where an answer is possible at all); afterwards
 * the server still serves, nothing partial is visible (the digests answer 404) and no repository
 * appeared in the catalog, and nothing was written outside the storage root.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { MediaType, makeImage } from '../support/fixtures.js';
import {
  assertError,
  assertStatus,
  digestOf,
  locationOf,
  pushBlob,
  pushParts,
  putManifest,
  randomBlob,
  send,
  startTarget,
  startUpload,
  uniqueRepo,
  walkCatalog,
  withQuery,
  type Reply,
  type SpecErrorCode,
  type Target,
} from '../conformance/helpers.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target?.stop();
});

// --- requests a well-behaved HTTP client cannot send ---------------------------------------------

/** What came back on a raw connection: an answer, or nothing before the server closed it. */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Writes a request head and part of its body on a raw socket, then either half-closes the
 * connection (`end`: the body is truncated, the client still listens) or destroys it (`abort`:
 * the client is gone). Resolves with the answer if one arrived.
 */
function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  sent: Buffer,
  how: 'end' | 'abort',
): Promise<RawAnswer | undefined> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(received))));
    const head = [
      `${method} ${pathname}${search} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      '',
      '',
    ].join('\r\n');
    socket.write(head);
    socket.write(sent, () => {
      if (how === 'end') socket.end();
      else socket.destroy();
    });
    // A server that neither answers nor closes within this long fails the row below.
    socket.setTimeout(30_000, () => socket.destroy());
  });
}

function parseAnswer(raw: Buffer): RawAnswer | undefined {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const [statusLine, ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status, headers, body };
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A raw answer as a {@link Reply}, so that the same assertions apply. */
function asReply(method: string, url: string, answer: RawAnswer): Reply {
  const reply: Reply = {
    method,
    url,
    status: answer.status,
    headers: answer.headers,
    rawHeaders: Object.entries(answer.headers).flat(),
    body: answer.body,
    header: (name) => answer.headers[name.toLowerCase()],
    headerValues: (name) =>
      answer.headers[name.toLowerCase()] === undefined ? [] : [answer.headers[name.toLowerCase()] ?? ''],
    text: () => answer.body.toString('utf8'),
    json: <T>() => JSON.parse(answer.body.toString('utf8')) as T,
    describe: () => `${method} ${url} → ${answer.status} ${answer.body.toString('utf8').slice(0, 600)}`,
  };
  return reply;
}

// --- the table ------------------------------------------------------------------------------------

interface Expected {
  status: number;
  code: SpecErrorCode | readonly SpecErrorCode[];
}

interface Outcome {
  /** The answer to the bad request; undefined when the connection closed without one. */
  reply: Reply | undefined;
  /** Digests that must answer 404 in `repo` afterwards (blobs and manifests). */
  absentBlobs?: string[];
  absentManifests?: string[];
  /** Further checks once the server was seen alive (e.g. a foreign session still works). */
  afterwards?: () => Promise<void>;
}

interface Row {
  name: string;
  /** The answer expected; with `maybeNoAnswer`, the connection may also close without one. */
  expect: Expected;
  maybeNoAnswer?: boolean;
  /** Whether `repo` legitimately exists afterwards (the row pushed something valid into it first). */
  repoExists?: boolean;
  /**
   * `repo` is a fresh repository name; `escape` a fresh name that traversal rows aim at outside
   * their repository, so that nothing may ever be created under it.
   */
  run(repo: string, escape: string): Promise<Outcome>;
}

const manifestOf = (bytes: Buffer, mediaType: string = MediaType.ociManifest) => ({
  mediaType,
  digest: digestOf(bytes),
  bytes,
});

function putBlobTo(session: string, digest: string, bytes: Buffer): Promise<Reply> {
  return send(withQuery(session, { digest }), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
}

/** Repository names, as written in the request path, that try to leave the storage root. */
const TRAVERSAL_NAMES: ((escape: string) => string)[] = [
  (e) => `../${e}`,
  (e) => `../../${e}`,
  (e) => `a/../../${e}`,
  (e) => `a/../${e}`,
  (e) => `./${e}`,
  (e) => `%2e%2e/${e}`,
  (e) => `%2E%2E%2F%2E%2E%2F${e}`,
  (e) => `..%2f${e}`,
  (e) => `a%2f..%2f..%2f${e}`,
  (e) => `..%5c${e}`,
  (e) => `${e}%00`,
  (e) => `%2f${e}`,
];

const rows: Row[] = [
  // digests
  {
    name: 'closing an upload with a malformed digest (sha256:zz)',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    async run(repo) {
      const bytes = randomBlob(100);
      return {
        reply: await putBlobTo(await startUpload(target.url, repo), 'sha256:zz', bytes),
        absentBlobs: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'closing an upload with an unsupported algorithm (md5)',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    async run(repo) {
      const bytes = randomBlob(100);
      return {
        reply: await putBlobTo(await startUpload(target.url, repo), `md5:${'0'.repeat(32)}`, bytes),
        absentBlobs: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'closing an upload with the digest of other content',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    async run(repo) {
      const bytes = randomBlob(10_000);
      const claimed = digestOf(randomBlob(10_000));
      return {
        reply: await putBlobTo(await startUpload(target.url, repo), claimed, bytes),
        absentBlobs: [digestOf(bytes), claimed],
      };
    },
  },
  {
    name: 'a chunked upload whose chunks do not hash to the closing digest',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    async run(repo) {
      const bytes = randomBlob(10_000);
      const patch = await send(await startUpload(target.url, repo), {
        method: 'PATCH',
        headers: { 'content-range': '0-9999' },
        body: bytes,
      });
      assertStatus(patch, 202);
      const claimed = digestOf(Buffer.concat([bytes, Buffer.from('x')]));
      return {
        reply: await send(withQuery(locationOf(patch), { digest: claimed }), { method: 'PUT' }),
        absentBlobs: [digestOf(bytes), claimed],
      };
    },
  },
  {
    name: 'a single POST whose body does not match ?digest=',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    async run(repo) {
      const bytes = randomBlob(5000);
      const claimed = digestOf('claimed');
      const reply = await send(withQuery(`${target.url}/v2/${repo}/blobs/uploads/`, { digest: claimed }), {
        method: 'POST',
        body: bytes,
      });
      return { reply, absentBlobs: [digestOf(bytes), claimed] };
    },
  },
  {
    name: 'a manifest PUT by a digest that is not its own',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    repoExists: true,
    async run(repo) {
      const image = makeImage();
      await pushParts(target.url, repo, image);
      const claimed = digestOf('another manifest');
      return {
        reply: await putManifest(target.url, repo, claimed, image.manifest),
        absentManifests: [claimed, image.manifest.digest],
      };
    },
  },
  {
    name: 'a blob GET by a digest that climbs out of the store (sha256:..%2f..%2fetc%2fpasswd)',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    async run(repo) {
      return { reply: await send(`${target.url}/v2/${repo}/blobs/sha256:..%2f..%2f..%2f..%2fetc%2fpasswd`) };
    },
  },
  {
    name: 'a mount of a malformed digest',
    expect: { status: 400, code: 'DIGEST_INVALID' },
    async run(repo) {
      return {
        reply: await send(
          `${target.url}/v2/${repo}/blobs/uploads/?mount=sha256:..%2f..%2fx&from=${uniqueRepo('src')}`,
          { method: 'POST' },
        ),
      };
    },
  },

  // names that try to leave the storage root
  ...TRAVERSAL_NAMES.flatMap((nameFor): Row[] => [
    {
      name: `starting an upload in "${nameFor('<x>')}"`,
      expect: { status: 400, code: 'NAME_INVALID' },
      async run(_repo, escape) {
        return {
          reply: await send(`${target.url}/v2/${nameFor(escape)}/blobs/uploads/`, { method: 'POST' }),
        };
      },
    },
    {
      name: `a single POST blob upload to "${nameFor('<x>')}"`,
      expect: { status: 400, code: 'NAME_INVALID' },
      async run(_repo, escape) {
        const bytes = randomBlob(100);
        return {
          reply: await send(
            withQuery(`${target.url}/v2/${nameFor(escape)}/blobs/uploads/`, { digest: digestOf(bytes) }),
            { method: 'POST', body: bytes },
          ),
        };
      },
    },
    {
      name: `a manifest PUT to "${nameFor('<x>')}"`,
      expect: { status: 400, code: 'NAME_INVALID' },
      async run(_repo, escape) {
        return { reply: await putManifest(target.url, nameFor(escape), 'v1', makeImage().manifest) };
      },
    },
    {
      name: `listing the tags of "${nameFor('<x>')}"`,
      expect: { status: 400, code: 'NAME_INVALID' },
      async run(_repo, escape) {
        return { reply: await send(`${target.url}/v2/${nameFor(escape)}/tags/list`) };
      },
    },
  ]),
  {
    name: 'a mount from a traversal name',
    // Not the spec's 202 fallback: a malformed source name is the client's error (issue 11).
    expect: { status: 400, code: 'NAME_INVALID' },
    async run(repo, escape) {
      const reply = await send(
        `${target.url}/v2/${repo}/blobs/uploads/?mount=${digestOf('x')}&from=..%2f..%2f${escape}`,
        { method: 'POST' },
      );
      return { reply };
    },
  },
  {
    name: 'a manifest PUT to a tag that climbs out (..%2f..%2fx)',
    expect: { status: 400, code: 'MANIFEST_INVALID' },
    repoExists: true,
    async run(repo, escape) {
      const image = makeImage();
      await pushParts(target.url, repo, image);
      return {
        reply: await putManifest(target.url, repo, `..%2f..%2f${escape}`, image.manifest),
        absentManifests: [image.manifest.digest],
      };
    },
  },

  // manifests
  {
    name: 'a manifest that is not JSON',
    expect: { status: 400, code: 'MANIFEST_INVALID' },
    async run(repo) {
      const bytes = Buffer.from(
        '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", ',
      );
      return {
        reply: await putManifest(target.url, repo, 'v1', manifestOf(bytes)),
        absentManifests: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'an empty manifest body',
    expect: { status: 400, code: 'MANIFEST_INVALID' },
    async run(repo) {
      return {
        reply: await putManifest(target.url, repo, 'v1', manifestOf(Buffer.alloc(0))),
        absentManifests: [digestOf('')],
      };
    },
  },
  {
    name: 'a JSON array as a manifest',
    expect: { status: 400, code: 'MANIFEST_INVALID' },
    async run(repo) {
      const bytes = Buffer.from('[]');
      return {
        reply: await putManifest(target.url, repo, 'v1', manifestOf(bytes)),
        absentManifests: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'a manifest whose layers are not a list',
    expect: { status: 400, code: 'MANIFEST_INVALID' },
    async run(repo) {
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: digestOf('{}'), size: 2 },
          layers: 'none',
        }),
      );
      return {
        reply: await putManifest(target.url, repo, 'v1', manifestOf(bytes)),
        absentManifests: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'a manifest with a descriptor whose digest is malformed',
    expect: { status: 400, code: 'MANIFEST_INVALID' },
    async run(repo) {
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: 'sha256:../../../etc/passwd', size: 2 },
          layers: [],
        }),
      );
      return {
        reply: await putManifest(target.url, repo, 'v1', manifestOf(bytes)),
        absentManifests: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'a manifest with a negative descriptor size',
    expect: { status: 400, code: 'MANIFEST_INVALID' },
    async run(repo) {
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: digestOf('{}'), size: -1 },
          layers: [],
        }),
      );
      return {
        reply: await putManifest(target.url, repo, 'v1', manifestOf(bytes)),
        absentManifests: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'a manifest referencing blobs that were never pushed',
    expect: { status: 400, code: 'MANIFEST_BLOB_UNKNOWN' },
    async run(repo) {
      const image = makeImage();
      return {
        reply: await putManifest(target.url, repo, 'v1', image.manifest),
        absentManifests: [image.manifest.digest],
      };
    },
  },
  {
    name: 'a manifest over 4 MiB with Content-Length',
    expect: { status: 413, code: 'SIZE_INVALID' },
    async run(repo) {
      const bytes = Buffer.alloc(4 * 1024 * 1024 + 1, ' ');
      bytes.write('{}');
      return {
        reply: await putManifest(target.url, repo, 'v1', manifestOf(bytes)),
        absentManifests: [digestOf(bytes)],
      };
    },
  },
  {
    name: 'a manifest over 4 MiB streamed without Content-Length',
    expect: { status: 413, code: 'SIZE_INVALID' },
    async run(repo) {
      const pieces = Array.from({ length: 5 }, () => Buffer.alloc(1024 * 1024, ' '));
      const reply = await send(`${target.url}/v2/${repo}/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': MediaType.ociManifest },
        body: pieces,
      });
      return { reply, absentManifests: [digestOf(Buffer.concat(pieces))] };
    },
  },

  // Content-Range
  {
    name: 'a PATCH whose Content-Range is not <start>-<end>',
    expect: { status: 400, code: 'BLOB_UPLOAD_INVALID' },
    async run(repo) {
      const bytes = randomBlob(100);
      const session = await startUpload(target.url, repo);
      const reply = await send(session, {
        method: 'PATCH',
        headers: { 'content-range': 'bytes=zero-99' },
        body: bytes,
      });
      return { reply, absentBlobs: [digestOf(bytes)], afterwards: () => expectOffset(session, 0) };
    },
  },
  {
    name: 'a PATCH that leaves a gap after the bytes received',
    expect: { status: 416, code: 'BLOB_UPLOAD_INVALID' },
    async run(repo) {
      const bytes = randomBlob(200);
      const first = await send(await startUpload(target.url, repo), {
        method: 'PATCH',
        headers: { 'content-range': '0-99' },
        body: bytes.subarray(0, 100),
      });
      assertStatus(first, 202);
      const reply = await send(locationOf(first), {
        method: 'PATCH',
        headers: { 'content-range': '150-199' },
        body: bytes.subarray(150),
      });
      return {
        reply,
        absentBlobs: [digestOf(bytes)],
        afterwards: () => expectOffset(locationOf(first), 100),
      };
    },
  },
  {
    name: 'a PATCH whose Content-Range is longer than its body',
    expect: { status: 400, code: 'SIZE_INVALID' },
    async run(repo) {
      const bytes = randomBlob(100);
      const session = await startUpload(target.url, repo);
      const reply = await send(session, {
        method: 'PATCH',
        headers: { 'content-range': '0-199' },
        body: bytes,
      });
      return { reply, absentBlobs: [digestOf(bytes)], afterwards: () => expectOffset(session, 0) };
    },
  },

  // upload ids
  ...(['GET', 'PATCH', 'PUT', 'DELETE'] as const).map((method): Row => ({
    name: `${method} on an upload id that never existed`,
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
    async run(repo) {
      await startUpload(target.url, repo);
      const bytes = randomBlob(10);
      const url = `${target.url}/v2/${repo}/blobs/uploads/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
      const reply = await send(method === 'PUT' ? withQuery(url, { digest: digestOf(bytes) }) : url, {
        method,
        ...(method === 'PATCH' || method === 'PUT' ? { body: bytes } : {}),
      });
      return { reply, absentBlobs: [digestOf(bytes)] };
    },
  })),
  {
    name: 'an upload id that climbs out (..%2f..%2fx)',
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
    async run(repo, escape) {
      return {
        reply: await send(`${target.url}/v2/${repo}/blobs/uploads/..%2f..%2f${escape}`, {
          method: 'PATCH',
          body: randomBlob(10),
        }),
      };
    },
  },
  {
    name: "PATCH to another repository's upload id",
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
    async run(repo) {
      const owner = uniqueRepo('owner');
      const bytes = randomBlob(1000);
      const session = await startUpload(target.url, owner);
      const foreign = session.replace(`/v2/${owner}/`, `/v2/${repo}/`);
      assert.notEqual(foreign, session, `the session URL names its repository: ${session}`);
      const reply = await send(foreign, {
        method: 'PATCH',
        headers: { 'content-range': '0-999' },
        body: bytes,
      });
      return {
        reply,
        absentBlobs: [digestOf(bytes)],
        // The owner's session is untouched by the foreign request and completes.
        afterwards: async () => {
          await expectOffset(session, 0);
          assertStatus(await putBlobTo(session, digestOf(bytes), bytes), 201);
        },
      };
    },
  },
  {
    name: "closing another repository's upload",
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
    async run(repo) {
      const owner = uniqueRepo('owner');
      const bytes = randomBlob(1000);
      const first = await send(await startUpload(target.url, owner), {
        method: 'PATCH',
        headers: { 'content-range': '0-999' },
        body: bytes,
      });
      assertStatus(first, 202);
      const session = locationOf(first);
      const foreign = session.replace(`/v2/${owner}/`, `/v2/${repo}/`);
      const reply = await send(withQuery(foreign, { digest: digestOf(bytes) }), { method: 'PUT' });
      return {
        reply,
        absentBlobs: [digestOf(bytes)],
        afterwards: async () => {
          assertError(
            await send(`${target.url}/v2/${owner}/blobs/${digestOf(bytes)}`, { method: 'HEAD' }),
            404,
            ['BLOB_UNKNOWN', 'NAME_UNKNOWN'],
          );
          await expectOffset(session, 1000);
        },
      };
    },
  },
  {
    name: "cancelling another repository's upload",
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
    async run(repo) {
      const owner = uniqueRepo('owner');
      const session = await startUpload(target.url, owner);
      const reply = await send(session.replace(`/v2/${owner}/`, `/v2/${repo}/`), { method: 'DELETE' });
      return { reply, afterwards: () => expectOffset(session, 0) };
    },
  },

  // bodies that stop early
  {
    name: 'closing an upload with a body shorter than its Content-Length, then a half-close',
    expect: { status: 400, code: ['SIZE_INVALID', 'BLOB_UPLOAD_INVALID'] },
    maybeNoAnswer: true,
    async run(repo) {
      const bytes = randomBlob(100_000);
      const url = withQuery(await startUpload(target.url, repo), { digest: digestOf(bytes) });
      const answer = await rawRequest(
        url,
        'PUT',
        { 'Content-Length': String(bytes.length), 'Content-Type': 'application/octet-stream' },
        bytes.subarray(0, 50_000),
        'end',
      );
      return {
        reply: answer && asReply('PUT', url, answer),
        absentBlobs: [digestOf(bytes), digestOf(bytes.subarray(0, 50_000))],
      };
    },
  },
  {
    name: 'a single POST with a body shorter than its Content-Length, then a half-close',
    expect: { status: 400, code: ['SIZE_INVALID', 'BLOB_UPLOAD_INVALID'] },
    maybeNoAnswer: true,
    async run(repo) {
      const bytes = randomBlob(100_000);
      const url = withQuery(`${target.url}/v2/${repo}/blobs/uploads/`, { digest: digestOf(bytes) });
      const answer = await rawRequest(
        url,
        'POST',
        { 'Content-Length': String(bytes.length) },
        bytes.subarray(0, 1000),
        'end',
      );
      return {
        reply: answer && asReply('POST', url, answer),
        absentBlobs: [digestOf(bytes), digestOf(bytes.subarray(0, 1000))],
      };
    },
  },
  {
    name: 'a manifest PUT with a body shorter than its Content-Length, then a half-close',
    expect: { status: 400, code: ['SIZE_INVALID', 'MANIFEST_INVALID'] },
    maybeNoAnswer: true,
    async run(repo) {
      const image = makeImage();
      await pushParts(target.url, repo, image);
      const url = `${target.url}/v2/${repo}/manifests/v1`;
      const answer = await rawRequest(
        url,
        'PUT',
        { 'Content-Length': String(image.manifest.size), 'Content-Type': image.manifest.mediaType },
        image.manifest.bytes.subarray(0, image.manifest.size - 10),
        'end',
      );
      return { reply: answer && asReply('PUT', url, answer), absentManifests: [image.manifest.digest, 'v1'] };
    },
    repoExists: true,
  },
  {
    name: 'a client that disconnects in the middle of a monolithic PUT',
    expect: { status: 0, code: [] },
    maybeNoAnswer: true,
    async run(repo) {
      const bytes = randomBlob(8 * 1024 * 1024);
      const url = withQuery(await startUpload(target.url, repo), { digest: digestOf(bytes) });
      const answer = await rawRequest(
        url,
        'PUT',
        { 'Content-Length': String(bytes.length) },
        bytes.subarray(0, 3 * 1024 * 1024),
        'abort',
      );
      assert.equal(answer, undefined, 'a client that is gone gets no answer');
      return {
        reply: undefined,
        absentBlobs: [digestOf(bytes)],
        // Nothing stays locked: the same blob uploads completely right after.
        afterwards: async () => {
          const other = uniqueRepo('after-abort');
          await pushBlob(target.url, other, bytes);
          assert.equal(
            digestOf((await send(`${target.url}/v2/${other}/blobs/${digestOf(bytes)}`)).body),
            digestOf(bytes),
          );
        },
      };
    },
  },
  {
    name: 'a client that disconnects in the middle of a streamed PATCH',
    expect: { status: 0, code: [] },
    maybeNoAnswer: true,
    async run(repo) {
      const bytes = randomBlob(4 * 1024 * 1024);
      const session = await startUpload(target.url, repo);
      const chunkHead = `${(2 * 1024 * 1024).toString(16)}\r\n`;
      const sent = Buffer.concat([
        Buffer.from(chunkHead),
        bytes.subarray(0, 2 * 1024 * 1024),
        Buffer.from('\r\n'),
      ]);
      const answer = await rawRequest(session, 'PATCH', { 'Transfer-Encoding': 'chunked' }, sent, 'abort');
      assert.equal(answer, undefined, 'a client that is gone gets no answer');
      return {
        reply: undefined,
        absentBlobs: [digestOf(bytes)],
        // The session survives with some prefix of what was sent, and a resumed upload completes.
        afterwards: async () => {
          const status = await send(session);
          assertStatus(status, 204, 404);
          if (status.status === 404) return;
          // `0-0` is an empty session (Distribution's convention): chunks are recorded whole, so
          // the offset is 0 or the whole chunk, never a single byte.
          const range = status.header('range') ?? '';
          const offset = range === '0-0' ? 0 : Number(/^0-(\d+)$/.exec(range)?.[1] ?? -1) + 1;
          assert.ok(
            offset >= 0 && offset <= 2 * 1024 * 1024,
            `offset within what was sent: ${status.describe()}`,
          );
          const rest = await send(withQuery(locationOf(status), { digest: digestOf(bytes) }), {
            method: 'PUT',
            headers: offset === 0 ? {} : { 'content-range': `${offset}-${bytes.length - 1}` },
            body: bytes.subarray(offset),
          });
          assertStatus(rest, 201);
        },
      };
    },
  },
  {
    name: 'a client that disconnects in the middle of a manifest PUT',
    expect: { status: 0, code: [] },
    maybeNoAnswer: true,
    repoExists: true,
    async run(repo) {
      const image = makeImage();
      await pushParts(target.url, repo, image);
      const url = `${target.url}/v2/${repo}/manifests/v1`;
      const answer = await rawRequest(
        url,
        'PUT',
        { 'Content-Length': String(image.manifest.size), 'Content-Type': image.manifest.mediaType },
        image.manifest.bytes.subarray(0, 100),
        'abort',
      );
      assert.equal(answer, undefined, 'a client that is gone gets no answer');
      return { reply: undefined, absentManifests: [image.manifest.digest, 'v1'] };
    },
  },
];

/** GET on a session answers 204 and the offset `bytes` (Range: 0-<bytes-1>). */
async function expectOffset(session: string, bytes: number): Promise<void> {
  const status = await send(session);
  assert.equal(status.status, 204, `the session is intact: ${status.describe()}`);
  if (bytes > 0) assert.equal(status.header('range'), `0-${bytes - 1}`, status.describe());
}

describe('bad input', () => {
  for (const row of rows) {
    const answer =
      row.expect.status === 0
        ? 'no answer'
        : `${row.expect.status}${row.maybeNoAnswer ? ' (or no answer)' : ''}`;
    it(`${row.name}: ${answer}, nothing left behind`, { timeout: 120_000 }, async () => {
      const repo = uniqueRepo('bad');
      const escape = uniqueRepo('escape');
      const outcome = await row.run(repo, escape);

      if (outcome.reply === undefined) {
        assert.ok(row.maybeNoAnswer, 'the registry answers');
      } else if (row.expect.status === 0) {
        assert.fail(`no answer expected: ${outcome.reply.describe()}`);
      } else if (typeof row.expect.code !== 'string' && row.expect.code.length === 0) {
        assertStatus(outcome.reply, row.expect.status);
      } else {
        assertError(outcome.reply, row.expect.status, row.expect.code);
      }

      const ping = await send(`${target.url}/v2/`);
      assert.equal(ping.status, 200, `the registry still serves: ${ping.describe()}`);
      for (const digest of outcome.absentBlobs ?? []) {
        for (const method of ['GET', 'HEAD']) {
          const reply = await send(`${target.url}/v2/${repo}/blobs/${digest}`, { method });
          assert.equal(reply.status, 404, `nothing partial is visible: ${reply.describe()}`);
        }
      }
      for (const reference of outcome.absentManifests ?? []) {
        const reply = await send(`${target.url}/v2/${repo}/manifests/${reference}`, {
          headers: { accept: MediaType.ociManifest },
        });
        assert.equal(reply.status, 404, `no manifest is visible: ${reply.describe()}`);
      }
      await outcome.afterwards?.();
      const catalog = await walkCatalog(target.url);
      if (!row.repoExists) assert.ok(!catalog.includes(repo), `${repo} does not appear in the catalog`);
      assert.ok(
        !catalog.some((r) => r.includes(escape)),
        `no repository named after ${escape}: ${catalog.join(' ')}`,
      );
      for (let depth = 0; depth <= 3; depth++) {
        const outside = path.resolve(target.root, ...Array<string>(depth).fill('..'), escape);
        assert.ok(!existsSync(outside), `nothing written at ${outside}`);
      }
    });
  }
});
