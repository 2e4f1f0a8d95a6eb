/**
 * containerd's `ctr` and the Docker CLI and Engine through the round-robin proxy onto three Berth
 * replicas on S3 (Ceph RGW) and PostgreSQL, with htpasswd auth on: every request goes to the next
 * replica, so a client's token comes from one replica and is honoured by the others (they share
 * BERTH_TOKEN_SECRET, as replicas on different machines do), and an upload's POST, PATCH and PUT
 * reach different replicas. `http.externalUrl` names the proxy, so the token realm in the
 * challenges is the proxy's and no client ever talks to a replica directly. Each client pushes and
 * pulls back, and each pulls what the other pushed; what comes back is checked by digest. One
 * Ceph, one PostgreSQL, one cluster and one containerd + dockerd, shared by both clients (wall
 * time). Engines from test/support/services.ts (CI=true: a missing engine fails).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { startContainerd, startDockerd, type Containerd, type Dockerd } from '../support/clients.js';
import {
  diffIdOf,
  digestHex,
  dockerArchive,
  getBlob,
  getManifest,
  hostPlatform,
  makeImage,
  MediaType,
  ociArchive,
  sha256,
  type Image,
} from '../support/fixtures.js';
import { freePort } from '../support/oidc.js';
import { startCluster, type Cluster } from '../support/replicas.js';
import { postgresService, s3Service } from '../support/services.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 300_000 };
const CLI = { timeoutMs: 240_000 };
const USER = 'dana';
const PASSWORD = 'dana-replicas-pw';
const s3 = s3Service();
const postgres = postgresService();
const skip = s3.skip ?? postgres.skip;

interface ImageInspect {
  Id: string;
  RepoDigests: string[];
}

if (skip !== undefined) {
  describe('real clients through the proxy onto replicas', { skip }, () => undefined);
} else {
  describe('real clients through the proxy onto replicas', () => {
    let cluster: Cluster;
    let containerd: Containerd;
    let dockerd: Dockerd;
    let work: string;
    const basic = {
      Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
    };

    before(async () => {
      work = await mkdtemp(path.join(tmpdir(), 'replicas-clients-'));
      const htpasswd = path.join(work, 'htpasswd');
      await writeFile(htpasswd, `${USER}:${await bcrypt.hash(PASSWORD, 5)}\n`);
      // The proxy's address is in the replicas' config (the token realm), so it is chosen first.
      const port = await freePort();
      const daemons = (async () => {
        containerd = await startContainerd();
        dockerd = await startDockerd(containerd);
      })();
      cluster = await startCluster(s3.service!, postgres.service!, {
        port,
        env: { BERTH_TOKEN_SECRET: 'replicas-clients-token-secret-0123456789abcdef' },
        config: {
          http: {
            externalUrl: `http://127.0.0.1:${port}`,
            auth: { htpasswd: { path: htpasswd } },
            accessControl: {
              repositories: { '**': { policies: [{ users: [USER], actions: ['read', 'create'] }] } },
            },
          },
        },
      });
      await daemons;
    });

    after(async () => {
      await dockerd?.stop();
      await containerd?.stop();
      await cluster?.stop();
      if (work !== undefined) await rm(work, { recursive: true, force: true });
    });

    const ref = (repo: string, tag: string): string => `${cluster.host}/${repo}:${tag}`;

    /** The digest `ctr images ls` lists for `name` in `namespace`. */
    async function listedDigest(namespace: string, name: string): Promise<string | undefined> {
      const out = (await containerd.ctr(namespace, ['images', 'ls'], CLI)).stdout;
      return out
        .split('\n')
        .find((line) => line.startsWith(`${name} `))
        ?.split(/\s+/)[2];
    }

    /** A blob from containerd's content store, as it landed on disk after a pull. */
    function fromContentStore(digest: string): Promise<Buffer> {
      return readFile(
        path.join(containerd.root, 'io.containerd.content.v1.content', 'blobs', 'sha256', digestHex(digest)),
      );
    }

    async function inspect(reference: string): Promise<ImageInspect> {
      const [first] = JSON.parse(
        (await dockerd.docker(['image', 'inspect', reference], CLI)).stdout,
      ) as ImageInspect[];
      assert.ok(first !== undefined, `docker image inspect ${reference} returned nothing`);
      return first;
    }

    /** Every replica serves the manifest `digest` and each blob of it, read with credentials. */
    async function servedByEveryReplica(repo: string, tag: string, digest: string): Promise<void> {
      for (const replica of cluster.replicas) {
        const m = await getManifest(replica.url, repo, tag, { headers: basic });
        assert.equal(m.status, 200, `${replica.url}: ${m.bytes.toString()}`);
        assert.equal(sha256(m.bytes), digest);
        const manifest = JSON.parse(m.bytes.toString()) as {
          config: { digest: string };
          layers: Array<{ digest: string }>;
        };
        for (const blob of [manifest.config, ...manifest.layers]) {
          const bytes = await getBlob(replica.url, repo, blob.digest, { headers: basic });
          assert.equal(sha256(bytes), blob.digest);
        }
      }
    }

    /** Pulls with `ctr` into a fresh namespace and checks the manifest and every blob by digest. */
    async function ctrPull(namespace: string, repo: string, tag: string, digest: string): Promise<void> {
      const name = ref(repo, tag);
      await containerd.ctr(
        namespace,
        ['images', 'pull', '--plain-http', '--user', `${USER}:${PASSWORD}`, '--snapshotter', 'native', name],
        CLI,
      );
      assert.equal(await listedDigest(namespace, name), digest);
      const manifest = JSON.parse((await fromContentStore(digest)).toString()) as {
        config: { digest: string };
        layers: Array<{ digest: string }>;
      };
      for (const blob of [manifest.config, ...manifest.layers])
        assert.equal(sha256(await fromContentStore(blob.digest)), blob.digest);
    }

    /** Pulls with Docker (logged in) and checks the image id (its config) and the digest pulled. */
    async function dockerPull(
      repo: string,
      tag: string,
      digest: string,
      configDigest: string,
    ): Promise<void> {
      await dockerd.docker(['pull', ref(repo, tag)], CLI);
      const pulled = await inspect(ref(repo, tag));
      assert.equal(pulled.Id, configDigest);
      assert.deepEqual(pulled.RepoDigests, [`${cluster.host}/${repo}@${digest}`]);
    }

    it(
      'ctr pushes with --user through the proxy; ctr and Docker pull it back, digests unchanged',
      TIMEOUT,
      async () => {
        const image: Image = makeImage({ platform: hostPlatform(), layerSizes: [1024, 6 * MiB] });
        const name = ref('clients/ctr', 'v1');
        const archive = path.join(work, 'ctr-push.tar');
        await writeFile(
          archive,
          ociArchive([{ content: image, annotations: { 'io.containerd.image.name': name } }]),
        );
        await containerd.ctr('push', ['images', 'import', '--all-platforms', '--no-unpack', archive], CLI);
        const before = cluster.proxy.counts();
        await containerd.ctr(
          'push',
          ['images', 'push', '--plain-http', '--user', `${USER}:${PASSWORD}`, name],
          CLI,
        );
        const after = cluster.proxy.counts();
        assert.ok(
          after.every((n, i) => n > before[i]!),
          `the push reached every replica: ${before.join()} → ${after.join()}`,
        );
        // Anonymous callers are refused: the pushes above really went through the token flow.
        assert.equal((await getManifest(cluster.url, 'clients/ctr', 'v1')).status, 401);
        await servedByEveryReplica('clients/ctr', 'v1', image.manifest.digest);

        await ctrPull('pull-ctr', 'clients/ctr', 'v1', image.manifest.digest);
        const login = await dockerd.dockerRaw(
          ['login', '--username', USER, '--password-stdin', cluster.host],
          {
            ...CLI,
            input: PASSWORD,
          },
        );
        assert.equal(login.code, 0, login.stderr);
        try {
          await dockerPull('clients/ctr', 'v1', image.manifest.digest, image.config.digest);
        } finally {
          await dockerd.docker(['logout', cluster.host], CLI);
        }
      },
    );

    it(
      'Docker logs in and pushes through the proxy; Docker and ctr pull it back, digests unchanged',
      TIMEOUT,
      async () => {
        const image = makeImage({ platform: hostPlatform(), layerSizes: [2048, 5 * MiB] });
        const archive = path.join(work, 'docker-load.tar');
        await writeFile(archive, dockerArchive(image, ['berth-replicas-fixture:v1']));
        await dockerd.docker(['load', '-i', archive], CLI);
        const name = ref('clients/docker', 'v1');
        await dockerd.docker(['tag', 'berth-replicas-fixture:v1', name], CLI);

        const login = await dockerd.dockerRaw(
          ['login', '--username', USER, '--password-stdin', cluster.host],
          {
            ...CLI,
            input: PASSWORD,
          },
        );
        assert.equal(login.code, 0, login.stderr);
        assert.match(login.stdout, /Login Succeeded/);
        try {
          const pushed = await dockerd.docker(['push', name], CLI);
          const digest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed.stdout)?.[1];
          assert.ok(digest !== undefined, `no digest in docker push output:\n${pushed.stdout}`);

          // Docker compresses the layers itself: check what it sent against the uncompressed tars.
          const stored = await getManifest(cluster.url, 'clients/docker', 'v1', { headers: basic });
          assert.equal(stored.status, 200);
          assert.equal(stored.contentType, MediaType.dockerManifest);
          assert.equal(sha256(stored.bytes), digest);
          const manifest = JSON.parse(stored.bytes.toString()) as {
            config: { digest: string };
            layers: Array<{ digest: string }>;
          };
          assert.equal(manifest.config.digest, image.config.digest);
          assert.equal(manifest.layers.length, image.layers.length);
          for (const [i, layer] of manifest.layers.entries()) {
            const bytes = await getBlob(cluster.url, 'clients/docker', layer.digest, { headers: basic });
            assert.equal(diffIdOf(bytes), image.layers[i]?.diffId);
          }
          await servedByEveryReplica('clients/docker', 'v1', digest);

          await dockerd.docker(['rmi', name, 'berth-replicas-fixture:v1'], CLI);
          await dockerPull('clients/docker', 'v1', digest, image.config.digest);

          await ctrPull('pull-docker', 'clients/docker', 'v1', digest);
        } finally {
          await dockerd.docker(['logout', cluster.host], CLI);
        }
      },
    );
  });
}
