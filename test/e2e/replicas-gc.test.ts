/**
 * Garbage collection of an S3 store shared by replicas (Ceph RGW + PostgreSQL): the elected
 * replica sweeps while another replica pushes, and every image acknowledged stays whole; what was
 * deleted leaves the bucket once no repository holds it and it is older than gcDelay; a replica
 * killed with SIGKILL in the middle of a large monolithic push leaves a multipart upload that the
 * sweep aborts, while the other replicas carry on and nothing acknowledged is lost.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { after, before, describe, it } from 'node:test';
import { createS3Client } from '../../src/storage/s3/client.js';
import { makeImage, pushContent, seededBytes, sha256, type Image } from '../support/fixtures.js';
import { startCluster, type Cluster } from '../support/replicas.js';
import type { RunningServer } from '../support/server.js';
import { postgresService, s3Service } from '../support/services.js';

const TIMEOUT = { timeout: 240_000 };
const s3 = s3Service();
const postgres = postgresService();
const skip = s3.skip ?? postgres.skip;

/** Every blob and the manifest of `image` under `repo:tag`, fetched and checked by digest. */
async function assertWhole(url: string, repo: string, tag: string, image: Image): Promise<void> {
  const manifest = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: image.manifest.mediaType },
  });
  assert.equal(manifest.status, 200, `${repo}:${tag}`);
  assert.equal(manifest.headers.get('docker-content-digest'), image.manifest.digest);
  await manifest.arrayBuffer();
  for (const blob of image.blobs) {
    const res = await fetch(`${url}/v2/${repo}/blobs/${blob.digest}`);
    assert.equal(res.status, 200, `${repo} ${blob.digest}`);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), blob.digest);
  }
}

/** The replica whose log shows finished sweeps (the elected one), waiting for the first. */
async function sweeper(replicas: RunningServer[]): Promise<RunningServer> {
  for (let i = 0; i < 200; i++) {
    const found = replicas.find((r) => r.output().includes('gc: sweep finished'));
    if (found) return found;
    await sleep(100);
  }
  throw new Error('no replica swept within 20 s');
}

function blobKey(digest: string): string {
  return `berth/blobs/sha256/${digest.slice('sha256:'.length)}`;
}

if (skip !== undefined) {
  describe('garbage collection on S3 with replicas', { skip }, () => undefined);
} else {
  describe('garbage collection on S3 with replicas', () => {
    let cluster: Cluster;
    before(async () => {
      cluster = await startCluster(s3.service!, postgres.service!, {
        replicas: 3,
        config: { storage: { gc: true, gcDelay: '2s', gcInterval: '1s' } },
      });
    });
    after(async () => {
      await cluster?.stop();
    });

    it(
      'sweeps on one replica while another pushes: every acknowledged image stays whole',
      TIMEOUT,
      async () => {
        const leader = await sweeper(cluster.replicas);
        const pusher = cluster.replicas.find((r) => r !== leader)!;
        const pushed: { repo: string; tag: string; image: Image }[] = [];
        const base = makeImage({ layerSizes: [40_000] });
        // Ten rounds over more than gcDelay: pushes of new layers, of a layer the store already has
        // (a row for an old object), and mounts, while the sweeps run every second.
        for (let round = 0; round < 10; round++) {
          const image = makeImage({ layers: [...base.layers, ...makeImage({ layerSizes: [3000] }).layers] });
          const repo = `gc/app${round % 3}`;
          await pushContent(pusher.url, repo, image, `r${round}`);
          pushed.push({ repo, tag: `r${round}`, image });
          await sleep(400);
        }
        // Sweeps past gcDelay since the last push.
        const sweeps = (leader.output().match(/gc: sweep finished/g) ?? []).length;
        await sleep(3000);
        assert.ok(
          (leader.output().match(/gc: sweep finished/g) ?? []).length > sweeps,
          'sweeps ran meanwhile',
        );
        for (const p of pushed) await assertWhole(cluster.url, p.repo, p.tag, p.image);
      },
    );

    it(
      'a deleted image leaves the bucket once no repository holds it and gcDelay has passed',
      TIMEOUT,
      async () => {
        const image = makeImage({ layerSizes: [5555] });
        await pushContent(cluster.url, 'gc/gone', image, 'v1');
        const shared = makeImage({ layers: image.layers });
        await pushContent(cluster.url, 'gc/kept', shared, 'v1');
        const del = await fetch(`${cluster.url}/v2/gc/gone/manifests/${image.manifest.digest}`, {
          method: 'DELETE',
        });
        assert.equal(del.status, 202);
        const layer = image.layers[0]!.digest;
        const config = image.blobs.find((b) => b.mediaType.includes('config'))!.digest;
        // gc/kept's push rewrote the layer's object after the config's, so gc/gone's membership of
        // the layer can outlive the config object by a sweep: wait for all three.
        const goneHoldsLayer = async (): Promise<number> =>
          (await fetch(`${cluster.url}/v2/gc/gone/blobs/${layer}`, { method: 'HEAD' })).status;
        let keys: string[] = [];
        let head = 0;
        for (let i = 0; i < 150; i++) {
          keys = await cluster.keys();
          head = await goneHoldsLayer();
          if (
            !keys.includes(blobKey(image.manifest.digest)) &&
            !keys.includes(blobKey(config)) &&
            head === 404
          )
            break;
          await sleep(200);
        }
        assert.ok(!keys.includes(blobKey(image.manifest.digest)), 'the deleted manifest object is gone');
        assert.ok(!keys.includes(blobKey(config)), 'its config, held by nobody else, is gone');
        assert.equal(head, 404, 'gc/gone no longer holds the layer');
        assert.ok((await cluster.keys()).includes(blobKey(layer)), 'the layer gc/kept still holds stays');
        await assertWhole(cluster.url, 'gc/kept', 'v1', shared);
      },
    );

    it(
      'a replica killed mid-push: the others carry on, nothing acknowledged is lost, the multipart upload is aborted',
      TIMEOUT,
      async () => {
        // Not the sweeper: its lease would take 30 s to lapse before another replica sweeps.
        const leader = await sweeper(cluster.replicas);
        const victim = cluster.replicas.find((r) => r !== leader);
        const others = cluster.replicas.filter((r) => r !== victim);
        const before = makeImage({ layerSizes: [20_000] });
        await pushContent(cluster.url, 'crash/app', before, 'before');
        // A monolithic upload of 24 MiB (three S3 parts) sent slowly to the victim, killed halfway.
        const bytes = seededBytes(24 * 1024 * 1024, 'killed');
        const digest = sha256(bytes);
        const post = await fetch(`${victim!.url}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
        const location = new URL(post.headers.get('location')!, victim!.url);
        location.searchParams.set('digest', digest);
        const req = http.request(location, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
        });
        req.on('error', () => undefined);
        const chunk = 1024 * 1024;
        for (let offset = 0; offset < 16 * chunk; offset += chunk) {
          req.write(bytes.subarray(offset, offset + chunk));
          await sleep(20);
        }
        // Killed only once its multipart upload exists in the store: under load the victim may
        // not have started one yet, and then there would be nothing for a sweep to abort.
        const client = createS3Client({
          region: s3.service!.region,
          endpoint: s3.service!.endpoint,
          forcePathStyle: true,
          accessKey: s3.service!.accessKey,
          secretKey: s3.service!.secretKey,
        });
        const openUploads = async (): Promise<number> =>
          (
            (await client.send(new ListMultipartUploadsCommand({ Bucket: cluster.store.bucket }))).Uploads ??
            []
          ).length;
        try {
          for (let i = 0; i < 200 && (await openUploads()) === 0; i++) await sleep(100);
          assert.ok((await openUploads()) > 0, 'the victim has a multipart upload under way');
          await victim!.kill();
          cluster.proxy.setBackends(others.map((r) => r.url));
          // The others carry on: pushes and pulls, including of the image pushed before the crash.
          const afterCrash = makeImage({ layerSizes: [30_000] });
          await pushContent(cluster.url, 'crash/app', afterCrash, 'after');
          await assertWhole(cluster.url, 'crash/app', 'before', before);
          await assertWhole(cluster.url, 'crash/app', 'after', afterCrash);
          const head = await fetch(`${cluster.url}/v2/crash/app/blobs/${digest}`, { method: 'HEAD' });
          assert.equal(head.status, 404, 'the unacknowledged blob is not there');
          // The multipart upload the victim left is aborted by a sweep once older than gcDelay.
          // Up to 75 s: should leadership have moved to the victim meanwhile, its lease (30 s) must
          // lapse before a survivor sweeps.
          let open = 1;
          for (let i = 0; i < 375 && open > 0; i++) {
            open = await openUploads();
            if (open > 0) await sleep(200);
          }
          assert.equal(open, 0, 'no multipart upload left');
          // The sweep that aborted it logs its totals when it finishes, which may be a little later.
          const aborted = /"abortedUploads":[1-9]/;
          const swept = (): string => others.map((r) => r.output()).join('\n');
          for (let i = 0; i < 100 && !aborted.test(swept()); i++) await sleep(100);
          assert.match(swept(), aborted, "a survivor's sweep aborted the victim's upload");
        } finally {
          client.destroy();
        }
      },
    );
  });
}
