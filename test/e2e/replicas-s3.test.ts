/**
 * Berth serving from S3 (Ceph RGW) with its metadata in PostgreSQL, as three replicas started at
 * once on an empty bucket and database, behind a round-robin proxy that sends every request to the
 * next replica: pushes and pulls across replicas, the content-addressed layout in the bucket (one
 * object per digest, a mount is a row), chunked uploads whose requests each reach another replica,
 * ranged reads, redirects to presigned URLs, skopeo copies through the proxy. Engines from test/support/services.ts (CI=true: a
 * missing engine fails).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { requireCommand, runOk } from '../support/clients.js';
import { UI_HEADER } from '../support/oidc.js';
import {
  getManifest,
  makeImage,
  makeIndex,
  pushContent,
  readOciLayout,
  seededBytes,
  sha256,
  writeOciLayout,
} from '../support/fixtures.js';
import { startCluster, type Cluster } from '../support/replicas.js';
import { postgresService, s3Service } from '../support/services.js';

const TIMEOUT = { timeout: 180_000 };
const s3 = s3Service();
const postgres = postgresService();
const skip = s3.skip ?? postgres.skip;

if (skip !== undefined) {
  describe('replicas on S3 and PostgreSQL', { skip }, () => undefined);
} else {
  describe('replicas on S3 and PostgreSQL', () => {
    let cluster: Cluster;
    before(async () => {
      cluster = await startCluster(s3.service!, postgres.service!, {
        config: { storage: { gcDelay: '1h' } },
      });
    });
    after(async () => {
      await cluster?.stop();
    });

    it(
      'a push through the proxy is served by every replica; catalog and tags from the database',
      TIMEOUT,
      async () => {
        const image = makeImage({ layerSizes: [3000, 70_000] });
        await pushContent(cluster.url, 'team/app', image, 'v1');
        for (const replica of cluster.replicas) {
          const got = await getManifest(replica.url, 'team/app', 'v1');
          assert.equal(got.status, 200);
          assert.equal(got.digestHeader, image.manifest.digest);
          for (const blob of image.blobs) {
            const res = await fetch(`${replica.url}/v2/team/app/blobs/${blob.digest}`);
            assert.equal(res.status, 200);
            assert.equal(sha256(Buffer.from(await res.arrayBuffer())), blob.digest);
          }
        }
        const catalog = (await (await fetch(`${cluster.url}/v2/_catalog`)).json()) as {
          repositories: string[];
        };
        assert.deepEqual(catalog.repositories, ['team/app']);
        const tags = (await (await fetch(`${cluster.url}/v2/team/app/tags/list`)).json()) as {
          tags: string[];
        };
        assert.deepEqual(tags.tags, ['v1']);
        // The bucket holds the content-addressed layout only: no index.json, no per-repository folders.
        const keys = await cluster.keys();
        assert.ok(keys.length > 0);
        for (const key of keys) assert.match(key, /^berth\/blobs\/sha256\/[0-9a-f]{64}$/, key);
        assert.ok(
          cluster.proxy.counts().every((n) => n > 0),
          `every replica served: ${cluster.proxy.counts().join()}`,
        );
      },
    );

    it(
      'a cross-repository mount and a second push of the same layer are rows, not copies',
      TIMEOUT,
      async () => {
        const image = makeImage({ layerSizes: [5000] });
        await pushContent(cluster.url, 'one', image, 'latest');
        const before = (await cluster.keys()).length;
        const layer = image.blobs[0]!;
        const mount = await fetch(`${cluster.url}/v2/two/blobs/uploads/?mount=${layer.digest}&from=one`, {
          method: 'POST',
        });
        assert.equal(mount.status, 201);
        await pushContent(cluster.url, 'three', image, 'latest');
        assert.equal((await cluster.keys()).length, before, 'no new object for a mount or a re-push');
        const head = await fetch(`${cluster.url}/v2/two/blobs/${layer.digest}`, { method: 'HEAD' });
        assert.equal(head.status, 200);
        // A repository that never received the blob does not hold it, though the store has it.
        const other = await fetch(`${cluster.url}/v2/nobody/blobs/${layer.digest}`, { method: 'HEAD' });
        assert.equal(other.status, 404);
        // Deleting the blob from `two` removes only its membership: `one` still serves it.
        const del = await fetch(`${cluster.url}/v2/two/blobs/${layer.digest}`, { method: 'DELETE' });
        assert.equal(del.status, 202);
        assert.equal(
          (await fetch(`${cluster.url}/v2/two/blobs/${layer.digest}`, { method: 'HEAD' })).status,
          404,
        );
        assert.equal(
          (await fetch(`${cluster.url}/v2/one/blobs/${layer.digest}`, { method: 'HEAD' })).status,
          200,
        );
      },
    );

    it('a chunked upload whose every request reaches another replica; ranged reads', TIMEOUT, async () => {
      const bytes = seededBytes(12 * 1024 * 1024 + 123, 'chunked');
      const digest = sha256(bytes);
      const post = await fetch(`${cluster.url}/v2/chunks/blobs/uploads/`, { method: 'POST' });
      assert.equal(post.status, 202);
      let location = new URL(post.headers.get('location')!, cluster.url);
      const chunk = 5 * 1024 * 1024;
      for (let offset = 0; offset < bytes.length; offset += chunk) {
        const part = bytes.subarray(offset, Math.min(offset + chunk, bytes.length));
        const patch = await fetch(location, {
          method: 'PATCH',
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + part.length - 1}`,
            'content-length': String(part.length),
          },
          body: part,
        });
        assert.equal(patch.status, 202, await patch.text());
        location = new URL(patch.headers.get('location')!, cluster.url);
      }
      location.searchParams.set('digest', digest);
      const put = await fetch(location, { method: 'PUT' });
      assert.equal(put.status, 201, await put.text());
      const ranged = await fetch(`${cluster.url}/v2/chunks/blobs/${digest}`, {
        headers: { range: 'bytes=5242870-5242899' },
      });
      assert.equal(ranged.status, 206);
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(5242870, 5242900));
      const whole = await fetch(`${cluster.url}/v2/chunks/blobs/${digest}`);
      assert.equal(sha256(Buffer.from(await whole.arrayBuffer())), digest);
    });

    it(
      'with redirectBlobURL, a blob GET is a redirect to a presigned URL the store serves',
      TIMEOUT,
      async () => {
        const redirecting = await startCluster(s3.service!, postgres.service!, {
          replicas: 1,
          store: cluster.store,
          config: { storage: { redirectBlobURL: true } },
        });
        try {
          const image = makeImage({ layerSizes: [4321] });
          await pushContent(redirecting.url, 'redirected', image, 'v1');
          const layer = image.blobs.find((b) => b.size === 4321) ?? image.blobs[0]!;
          const res = await fetch(`${redirecting.url}/v2/redirected/blobs/${layer.digest}`, {
            redirect: 'manual',
          });
          assert.equal(res.status, 307);
          const location = res.headers.get('location')!;
          assert.match(location, /X-Amz-Signature=/);
          const direct = await fetch(location);
          assert.equal(direct.status, 200);
          assert.equal(sha256(Buffer.from(await direct.arrayBuffer())), layer.digest);
          // HEAD is answered by Berth (a URL presigned for GET refuses HEAD).
          const head = await fetch(`${redirecting.url}/v2/redirected/blobs/${layer.digest}`, {
            method: 'HEAD',
          });
          assert.equal(head.status, 200);
        } finally {
          await redirecting.stop({ keepStore: true });
        }
      },
    );

    it(
      'skopeo copies a multi-arch image in and out through the proxy, digests unchanged',
      TIMEOUT,
      async () => {
        const skopeoBin = requireCommand('skopeo');
        const work = await mkdtemp(path.join(tmpdir(), 'replicas-skopeo-'));
        try {
          const policy = path.join(work, 'policy.json');
          await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
          const skopeo = (args: string[]) =>
            runOk(skopeoBin, ['--policy', policy, ...args], { timeoutMs: 240_000 });
          const index = makeIndex({
            platforms: [
              { os: 'linux', architecture: 'amd64' },
              { os: 'linux', architecture: 'arm64' },
            ],
            layerSizes: [2 * 1024 * 1024, 11 * 1024 * 1024],
          });
          const src = await writeOciLayout(path.join(work, 'src'), [{ content: index, tag: 'v1' }]);
          const ref = (repo: string) => `docker://${cluster.host}/${repo}:v1`;
          await skopeo([
            'copy',
            '--all',
            '--preserve-digests',
            '--dest-tls-verify=false',
            `oci:${src}:v1`,
            ref('skopeo/app'),
          ]);
          await skopeo([
            'copy',
            '--all',
            '--src-tls-verify=false',
            '--dest-tls-verify=false',
            ref('skopeo/app'),
            ref('skopeo/copy'),
          ]);
          const out = path.join(work, 'out');
          await skopeo([
            'copy',
            '--all',
            '--preserve-digests',
            '--src-tls-verify=false',
            ref('skopeo/copy'),
            `oci:${out}:v1`,
          ]);
          const back = await readOciLayout(out);
          assert.equal(back.byTag('v1').digest, index.manifest.digest);
          for (const blob of index.blobs) assert.equal(sha256(await back.blob(blob.digest)), blob.digest);
          const tags = await skopeo([
            'list-tags',
            '--tls-verify=false',
            `docker://${cluster.host}/skopeo/copy`,
          ]);
          assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      },
    );

    it(
      'auth across replicas: skopeo pushes with credentials through the proxy (tokens from any replica honoured by all); a session and an API key made on one replica work on another',
      TIMEOUT,
      async () => {
        const skopeoBin = requireCommand('skopeo');
        const work = await mkdtemp(path.join(tmpdir(), 'replicas-auth-'));
        const htpasswd = path.join(work, 'htpasswd');
        await writeFile(htpasswd, `carol:${await bcrypt.hash('carol-pw', 5)}\n`);
        const secured = await startCluster(s3.service!, postgres.service!, {
          store: cluster.store,
          // Replicas on different machines share the token signing key through the environment.
          env: { BERTH_TOKEN_SECRET: 'replicas-test-token-secret-0123456789abcdef' },
          config: {
            http: {
              auth: { htpasswd: { path: htpasswd }, apikey: true },
              accessControl: {
                repositories: { '**': { policies: [{ users: ['carol'], actions: ['read', 'create'] }] } },
              },
            },
          },
        });
        try {
          const policy = path.join(work, 'policy.json');
          await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
          const src = await writeOciLayout(path.join(work, 'src'), [
            { content: makeImage({ layerSizes: [6 * 1024 * 1024] }), tag: 'v1' },
          ]);
          await runOk(
            skopeoBin,
            [
              '--policy',
              policy,
              'copy',
              '--dest-tls-verify=false',
              '--dest-creds',
              'carol:carol-pw',
              `oci:${src}:v1`,
              `docker://${secured.host}/auth/app:v1`,
            ],
            { timeoutMs: 240_000 },
          );
          const anonymous = await fetch(`${secured.url}/v2/auth/app/tags/list`);
          assert.equal(anonymous.status, 401);

          const [a, b] = secured.replicas;
          const basic = { Authorization: `Basic ${Buffer.from('carol:carol-pw').toString('base64')}` };
          const signIn = await fetch(`${a!.url}/v2/`, { headers: { ...UI_HEADER, ...basic } });
          assert.equal(signIn.status, 200);
          const cookie = signIn.headers
            .getSetCookie()
            .find((c) => c.startsWith('session='))!
            .split(';')[0]!;
          const created = await fetch(`${b!.url}/zot/auth/apikey`, {
            method: 'POST',
            headers: { ...UI_HEADER, Cookie: cookie, 'Content-Type': 'application/json', Origin: b!.url },
            body: JSON.stringify({ label: 'ci' }),
          });
          assert.equal(created.status, 201, 'the session made on one replica is honoured on another');
          const { apiKey } = (await created.json()) as { apiKey: string };
          const withKey = await fetch(`${secured.url}/v2/auth/app/tags/list`, {
            headers: { Authorization: `Basic ${Buffer.from(`carol:${apiKey}`).toString('base64')}` },
          });
          assert.equal(withKey.status, 200);
          assert.deepEqual(((await withKey.json()) as { tags: string[] }).tags, ['v1']);
        } finally {
          await secured.stop({ keepStore: true });
          await rm(work, { recursive: true, force: true });
        }
      },
    );
  });
}
