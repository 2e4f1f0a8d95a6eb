/**
 * The Docker CLI and Engine (Debian's 20.10, on a containerd of its own) against a real registry:
 * push of a loaded image, pull of OCI and Docker images, indexes and manifest lists (for this
 * platform and another), and `docker manifest create/push` of a manifest list.
 * Registries on 127.0.0.0/8 count as insecure for dockerd, so plain HTTP needs no setup.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startContainerd,
  startDockerd,
  startRegistryUnderTest,
  type Containerd,
  type Dockerd,
  type Registry,
} from '../support/clients.js';
import {
  diffIdOf,
  dockerArchive,
  getBlob,
  getManifest,
  hostPlatform,
  makeImage,
  makeIndex,
  MediaType,
  pushContent,
  sha256,
  type ManifestFormat,
  type Platform,
} from '../support/fixtures.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 300_000 };
const CLI = { timeoutMs: 240_000 };

interface ImageInspect {
  Id: string;
  RepoDigests: string[];
  Architecture: string;
}

interface DockerManifestJson {
  mediaType: string;
  config: { digest: string; mediaType: string };
  layers: Array<{ digest: string; mediaType: string }>;
  manifests?: Array<{ digest: string; platform: Platform }>;
}

/** A platform that is not this machine's, to pull with `--platform`. */
function otherPlatform(): Platform {
  return { os: 'linux', architecture: hostPlatform().architecture === 'arm64' ? 'amd64' : 'arm64' };
}

describe('docker', () => {
  let registry: Registry;
  let containerd: Containerd;
  let dockerd: Dockerd;
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-docker-'));
    registry = await startRegistryUnderTest();
    containerd = await startContainerd();
    dockerd = await startDockerd(containerd);
  });

  after(async () => {
    await dockerd?.stop();
    await containerd?.stop();
    await registry?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  async function inspect(ref: string): Promise<ImageInspect> {
    const out = (await dockerd.docker(['image', 'inspect', ref], CLI)).stdout;
    const [first] = JSON.parse(out) as ImageInspect[];
    assert.ok(first !== undefined, `docker image inspect ${ref} returned nothing`);
    return first;
  }

  it('pushes a loaded image and pulls it back', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [1024, 3 * MiB], platform: hostPlatform() });
    const archive = path.join(work, 'load.tar');
    await writeFile(archive, dockerArchive(image, ['berth-fixture:push']));
    await dockerd.docker(['load', '-i', archive], CLI);
    // Docker identifies an image by its config's digest.
    assert.equal((await inspect('berth-fixture:push')).Id, image.config.digest);

    const ref = `${registry.host}/e2e/docker-push:v1`;
    await dockerd.docker(['tag', 'berth-fixture:push', ref], CLI);
    const pushed = await dockerd.docker(['push', ref], CLI);
    const digest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed.stdout)?.[1];
    assert.ok(digest !== undefined, `no digest in docker push output:\n${pushed.stdout}`);

    // Docker compresses the layers itself: check what it sent against the uncompressed tars.
    const stored = await getManifest(registry.url, 'e2e/docker-push', 'v1');
    assert.equal(stored.status, 200);
    assert.equal(stored.contentType, MediaType.dockerManifest);
    assert.equal(sha256(stored.bytes), digest);
    const manifest = JSON.parse(stored.bytes.toString()) as DockerManifestJson;
    assert.equal(manifest.config.digest, image.config.digest);
    assert.equal(manifest.layers.length, image.layers.length);
    for (const [i, layer] of manifest.layers.entries()) {
      assert.equal(layer.mediaType, MediaType.dockerLayerGzip);
      const bytes = await getBlob(registry.url, 'e2e/docker-push', layer.digest);
      assert.equal(sha256(bytes), layer.digest);
      assert.equal(diffIdOf(bytes), image.layers[i]?.diffId);
    }

    await dockerd.docker(['rmi', ref, 'berth-fixture:push'], CLI);
    await dockerd.docker(['pull', ref], CLI);
    const pulled = await inspect(ref);
    assert.equal(pulled.Id, image.config.digest);
    assert.deepEqual(pulled.RepoDigests, [`${registry.host}/e2e/docker-push@${digest}`]);
  });

  for (const format of ['oci', 'docker'] as ManifestFormat[]) {
    it(
      `pulls ${format === 'oci' ? 'an OCI image manifest' : 'a Docker schema-2 image'} pushed by another client`,
      TIMEOUT,
      async () => {
        const image = makeImage({ format, layerSizes: [1024, MiB], platform: hostPlatform() });
        const repo = `e2e/docker-pull-${format}`;
        await pushContent(registry.url, repo, image, 'v1');
        await dockerd.docker(['pull', `${registry.host}/${repo}:v1`], CLI);
        const pulled = await inspect(`${registry.host}/${repo}:v1`);
        assert.equal(pulled.Id, image.config.digest);
        assert.deepEqual(pulled.RepoDigests, [`${registry.host}/${repo}@${image.manifest.digest}`]);
      },
    );

    const kind = format === 'oci' ? 'an OCI index' : 'a Docker manifest list';
    it(`pulls ${kind}: this platform by default, another with --platform`, TIMEOUT, async () => {
      const index = makeIndex({ format, platforms: [hostPlatform(), otherPlatform()] });
      const [mine, other] = index.images;
      assert.ok(mine !== undefined && other !== undefined);
      const repo = `e2e/docker-list-${format}`;
      const ref = `${registry.host}/${repo}:v1`;
      await pushContent(registry.url, repo, index, 'v1');

      await dockerd.docker(['pull', ref], CLI);
      const pulled = await inspect(ref);
      assert.equal(pulled.Id, mine.config.digest);
      assert.deepEqual(pulled.RepoDigests, [`${registry.host}/${repo}@${index.manifest.digest}`]);

      const p = otherPlatform();
      await dockerd.docker(['pull', '--platform', `${p.os}/${p.architecture}`, ref], CLI);
      const pulledOther = await inspect(ref);
      assert.equal(pulledOther.Id, other.config.digest);
      assert.equal(pulledOther.Architecture, p.architecture);
    });
  }

  it('creates and pushes a manifest list with docker manifest', TIMEOUT, async () => {
    // Docker 20.10's `docker manifest` reads only Docker media types, and re-pushes (re-encoded)
    // child manifests when they live in another repository: keep them in the list's own.
    const repo = 'e2e/docker-manifest';
    const images = [hostPlatform(), otherPlatform()].map((platform) =>
      makeImage({ format: 'docker', platform }),
    );
    for (const image of images) await pushContent(registry.url, repo, image, image.platform.architecture);

    const list = `${registry.host}/${repo}:v1`;
    await dockerd.docker(
      [
        'manifest',
        'create',
        '--insecure',
        list,
        ...images.map((i) => `${registry.host}/${repo}:${i.platform.architecture}`),
      ],
      CLI,
    );
    const pushed = await dockerd.docker(['manifest', 'push', '--insecure', '--purge', list], CLI);
    const digest = /(sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    assert.ok(digest !== undefined, `no digest in docker manifest push output:\n${pushed.stdout}`);

    const stored = await getManifest(registry.url, repo, 'v1');
    assert.equal(stored.status, 200);
    assert.equal(stored.contentType, MediaType.dockerManifestList);
    assert.equal(sha256(stored.bytes), digest);
    const manifests = (JSON.parse(stored.bytes.toString()) as DockerManifestJson).manifests ?? [];
    assert.deepEqual(
      manifests.map((m) => [m.digest, m.platform.architecture]),
      images.map((i) => [i.manifest.digest, i.platform.architecture]),
    );

    await dockerd.docker(['pull', list], CLI);
    assert.equal((await inspect(list)).Id, images[0]?.config.digest);
  });
});
