/**
 * Two `berth serve` processes on one data directory (one storage root, one metadata database):
 * an upload session started on one continues on the other, concurrent PATCHes of one range to
 * both get exactly one 202, a blob deleted through one is gone for the other, a SIGKILL of either
 * in the middle of pushes loses nothing acknowledged, and skopeo pushes through one and pulls
 * through the other.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertStatus,
  digestOf,
  locationOf,
  pushAll,
  pushBlob,
  putManifest,
  randomBlob,
  send,
  startUpload,
  uniqueRepo,
  withQuery,
} from '../conformance/helpers.js';
import {
  ACCEPT_ALL_MANIFESTS,
  makeImage,
  readOciLayout,
  sha256,
  writeOciLayout,
  type Image,
} from '../support/fixtures.js';
import { requireCommand, runOk } from '../support/clients.js';
import { startBerth, type RunningServer } from '../support/server.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 300_000 };

/** The same URL on another process: every process must understand every other's `Location`. */
function on(server: RunningServer, url: string): string {
  const u = new URL(url);
  u.port = String(server.port);
  return u.toString();
}

/** Starts a request with its head and `sent` bytes of a longer body, and holds it open. */
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
  req.on('response', (res) => res.resume());
  return new Promise((resolve) => req.write(sent, () => resolve(req)));
}

/** The manifest and every blob of an image are served by `server`, byte for byte. */
async function assertServed(
  server: RunningServer,
  repo: string,
  reference: string,
  image: Image,
): Promise<void> {
  const m = await send(`${server.url}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: ACCEPT_ALL_MANIFESTS },
  });
  assert.equal(m.status, 200, m.describe());
  assert.equal(digestOf(m.body), image.manifest.digest);
  for (const blob of image.blobs) {
    const b = await send(`${server.url}/v2/${repo}/blobs/${blob.digest}`);
    assert.equal(b.status, 200, b.describe());
    assert.equal(digestOf(b.body), blob.digest, `${repo} blob from ${server.url}`);
  }
}

describe('two processes on one data directory', () => {
  let root: string;
  let a: RunningServer;
  let b: RunningServer;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'berth-two-'));
    a = await startBerth({ root, cleanup: false });
    b = await startBerth({ root, cleanup: false });
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it(
    'a chunked upload whose requests alternate between the processes completes, and both serve it',
    TIMEOUT,
    async () => {
      const repo = uniqueRepo('two/alternate');
      const image = makeImage({ layerSizes: [5 * MiB + 123, 2048] });
      const layer = image.layers[0]!;
      let location = await startUpload(a.url, repo);
      const servers = [b, a];
      let turn = 0;
      for (let start = 0; start < layer.bytes.length; start += MiB) {
        const chunk = layer.bytes.subarray(start, start + MiB);
        const server = servers[turn++ % 2]!;
        const reply = await send(on(server, location), {
          method: 'PATCH',
          headers: {
            'content-range': `${start}-${start + chunk.length - 1}`,
            'content-type': 'application/octet-stream',
          },
          body: chunk,
        });
        assertStatus(reply, 202);
        assert.equal(reply.header('range'), `0-${start + chunk.length - 1}`);
        location = locationOf(reply);
        // The other process reports the same offset.
        const status = await send(on(servers[turn % 2]!, location));
        assertStatus(status, 204);
        assert.equal(status.header('range'), `0-${start + chunk.length - 1}`);
      }
      assertStatus(
        await send(withQuery(on(servers[turn++ % 2]!, location), { digest: layer.digest }), {
          method: 'PUT',
        }),
        201,
      );
      // The rest of the image through the other process, the manifest through the first.
      for (const blob of image.blobs.filter((x) => x.digest !== layer.digest))
        await pushBlob(b.url, repo, blob.bytes, blob.digest);
      assertStatus(await putManifest(a.url, repo, 'v1', image.manifest), 201);
      await assertServed(a, repo, 'v1', image);
      await assertServed(b, repo, 'v1', image);
    },
  );

  it(
    'concurrent PATCHes of one range, one to each process: exactly one 202, the other 416',
    TIMEOUT,
    async () => {
      const repo = uniqueRepo('two/race');
      const bytes = randomBlob(4 * MiB);
      for (let round = 0; round < 3; round++) {
        const location = await startUpload(a.url, repo);
        const patch = (server: RunningServer): Promise<Awaited<ReturnType<typeof send>>> =>
          send(on(server, location), {
            method: 'PATCH',
            headers: { 'content-range': `0-${bytes.length - 1}`, 'content-type': 'application/octet-stream' },
            body: [bytes.subarray(0, 2 * MiB), bytes.subarray(2 * MiB)],
          });
        const replies = await Promise.all([patch(a), patch(b)]);
        const statuses = replies.map((r) => r.status).sort();
        assert.deepEqual(statuses, [202, 416], replies.map((r) => r.describe()).join('\n'));
        const loser = replies.find((r) => r.status === 416)!;
        assert.equal(loser.json<{ errors: { code: string }[] }>().errors[0]?.code, 'BLOB_UPLOAD_INVALID');
        // The session holds exactly one copy of the range, and completes under its digest.
        for (const server of [a, b]) {
          const status = await send(on(server, location));
          assert.equal(status.header('range'), `0-${bytes.length - 1}`);
        }
        assertStatus(
          await send(withQuery(on(b, location), { digest: digestOf(bytes) }), { method: 'PUT' }),
          201,
        );
        const pulled = await send(`${a.url}/v2/${repo}/blobs/${digestOf(bytes)}`);
        assert.equal(digestOf(pulled.body), digestOf(bytes));
      }
    },
  );

  it(
    'a blob deleted through one process is gone for the other (HEAD 404, manifest refused)',
    TIMEOUT,
    async () => {
      const repo = uniqueRepo('two/delete');
      const image = makeImage({ layerSizes: [1000] });
      const layer = image.layers[0]!;
      for (const blob of image.blobs) await pushBlob(a.url, repo, blob.bytes, blob.digest);
      // B answers from storage and learns the size: the case a per-process cache got wrong.
      assertStatus(await send(`${b.url}/v2/${repo}/blobs/${layer.digest}`, { method: 'HEAD' }), 200);
      assertStatus(await send(`${a.url}/v2/${repo}/blobs/${layer.digest}`, { method: 'DELETE' }), 202);
      assertStatus(await send(`${b.url}/v2/${repo}/blobs/${layer.digest}`, { method: 'HEAD' }), 404);
      assertStatus(await putManifest(b.url, repo, 'v1', image.manifest), 400);
    },
  );

  for (const victim of ['first', 'second'] as const) {
    it(`a SIGKILL of the ${victim} process mid-push loses nothing acknowledged`, TIMEOUT, async () => {
      const killed = victim === 'first' ? a : b;
      const survivor = victim === 'first' ? b : a;
      const pushes = Array.from({ length: 6 }, (_, i) => ({
        repo: uniqueRepo(`two/kill-${victim}`),
        image: makeImage({ layerSizes: [(1 + (i % 3)) * MiB, 512] }),
        acknowledged: false,
      }));
      // Pushes alternate their requests between the processes; half run before the kill.
      const push = async (p: (typeof pushes)[number], i: number): Promise<void> => {
        const first = i % 2 === 0 ? a : b;
        const second = i % 2 === 0 ? b : a;
        for (const blob of p.image.blobs) {
          const location = await startUpload(first.url, p.repo);
          assertStatus(
            await send(withQuery(on(second, location), { digest: blob.digest }), {
              method: 'PUT',
              body: blob.bytes,
            }),
            201,
          );
        }
        assertStatus(await putManifest(first.url, p.repo, 'v1', p.image.manifest), 201);
        p.acknowledged = true;
      };
      for (let i = 0; i < 3; i++) await push(pushes[i]!, i);
      // In flight at the kill: a chunked upload half-written to the victim, and pushes racing.
      const heldBytes = randomBlob(3 * MiB);
      const heldSession = await startUpload(survivor.url, uniqueRepo('two/held'));
      const heldReq = await holdHalfSent(
        on(killed, heldSession),
        'PATCH',
        { 'content-type': 'application/octet-stream', 'content-length': String(heldBytes.length) },
        heldBytes.subarray(0, MiB),
      );
      const racing = Promise.allSettled(pushes.slice(3).map((p, j) => push(p, j + 3)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await killed.kill();
      heldReq.destroy();
      await racing;
      // The survivor serves every acknowledged push while the victim is down.
      for (const p of pushes.filter((x) => x.acknowledged))
        await assertServed(survivor, p.repo, 'v1', p.image);
      const restarted = await startBerth({ root, cleanup: false });
      if (victim === 'first') a = restarted;
      else b = restarted;
      for (const p of pushes.filter((x) => x.acknowledged)) {
        await assertServed(a, p.repo, 'v1', p.image);
        await assertServed(b, p.repo, 'v1', p.image);
      }
      // The half-written PATCH was never acknowledged: the session reports no partial chunk.
      const status = await send(on(survivor, heldSession));
      assertStatus(status, 204);
      assert.equal(status.header('range'), '0-0');
      // And both processes take new pushes.
      const fresh = makeImage({ layerSizes: [4096] });
      await pushAll(a.url, uniqueRepo('two/after'), fresh);
      await pushAll(b.url, uniqueRepo('two/after'), fresh);
    });
  }

  it('skopeo pushes through one process and pulls through the other', TIMEOUT, async () => {
    const skopeo = requireCommand('skopeo');
    const work = await mkdtemp(path.join(tmpdir(), 'berth-two-skopeo-'));
    try {
      const policy = path.join(work, 'policy.json');
      await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      const image = makeImage({ layerSizes: [1024, 3 * MiB] });
      const src = await writeOciLayout(path.join(work, 'src'), [{ content: image, tag: 'v1' }]);
      const repo = uniqueRepo('two/skopeo');
      await runOk(
        skopeo,
        [
          '--policy',
          policy,
          'copy',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `oci:${src}:v1`,
          `docker://${a.host}/${repo}:v1`,
        ],
        {
          timeoutMs: 240_000,
        },
      );
      const dst = path.join(work, 'dst');
      await runOk(
        skopeo,
        [
          '--policy',
          policy,
          'copy',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${b.host}/${repo}:v1`,
          `oci:${dst}:back`,
        ],
        {
          timeoutMs: 240_000,
        },
      );
      const layout = await readOciLayout(dst);
      assert.equal(layout.byTag('back').digest, image.manifest.digest);
      for (const blob of image.blobs) assert.equal(sha256(await layout.blob(blob.digest)), blob.digest);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
