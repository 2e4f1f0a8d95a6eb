/**
 * containerd's `ctr` against a real registry: the "remotes" resolver and pusher that BuildKit,
 * Dagger and Kubernetes nodes use (a POST, then one monolithic PUT per blob). Images and indexes
 * are imported from generated OCI archives and pushed, pulled and unpacked with the native
 * snapshotter, and pushed again to another repository.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startContainerd,
  startRegistryUnderTest,
  type Containerd,
  type Registry,
} from '../support/clients.js';
import {
  getBlob,
  getManifest,
  hostPlatform,
  makeImage,
  makeIndex,
  MediaType,
  ociArchive,
  pushContent,
  sha256,
  type Content,
  type ImageIndex,
  type ManifestFormat,
} from '../support/fixtures.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 300_000 };
const CTR = { timeoutMs: 240_000 };

describe('containerd (ctr)', () => {
  let registry: Registry;
  let containerd: Containerd;
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-ctr-'));
    registry = await startRegistryUnderTest();
    containerd = await startContainerd();
  });

  after(async () => {
    await containerd?.stop();
    await registry?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** Checks the registry serves a manifest byte for byte, and every blob it references. */
  async function assertStored(repo: string, reference: string, content: Content): Promise<void> {
    const m = await getManifest(registry.url, repo, reference);
    assert.equal(m.status, 200, `GET manifest ${repo}:${reference}: ${m.bytes.toString()}`);
    assert.equal(m.contentType, content.manifest.mediaType);
    assert.equal(sha256(m.bytes), content.manifest.digest, 'manifest bytes differ from what was pushed');
    for (const child of content.manifests) {
      const c = await getManifest(registry.url, repo, child.digest);
      assert.equal(c.status, 200, `GET child manifest ${child.digest}`);
      assert.equal(sha256(c.bytes), child.digest);
    }
    for (const blob of content.blobs)
      assert.equal(sha256(await getBlob(registry.url, repo, blob.digest)), blob.digest);
  }

  /** Imports content into a namespace of containerd from a generated OCI archive, named `name`. */
  async function importArchive(namespace: string, name: string, content: Content): Promise<void> {
    const archive = path.join(work, `${namespace}.tar`);
    await writeFile(archive, ociArchive([{ content, annotations: { 'io.containerd.image.name': name } }]));
    await containerd.ctr(namespace, ['images', 'import', '--all-platforms', '--no-unpack', archive], CTR);
  }

  /** The digest `ctr images ls` reports for an image name. */
  async function listedDigest(namespace: string, name: string): Promise<string | undefined> {
    const out = (await containerd.ctr(namespace, ['images', 'ls'], CTR)).stdout;
    const row = out.split('\n').find((line) => line.startsWith(`${name} `));
    return row?.split(/\s+/)[2];
  }

  /** Finds a file by its path inside the unpacked snapshots of the native snapshotter. */
  async function readFromSnapshots(file: string): Promise<Buffer | undefined> {
    const snapshots = path.join(containerd.root, 'io.containerd.snapshotter.v1.native', 'snapshots');
    for (const id of await readdir(snapshots)) {
      try {
        return await readFile(path.join(snapshots, id, file));
      } catch {
        // not in this snapshot
      }
    }
    return undefined;
  }

  it('pushes an image imported from an OCI archive', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [1024, 3 * MiB] });
    const name = `${registry.host}/e2e/ctr-push:v1`;
    await importArchive('push-image', name, image);
    await containerd.ctr('push-image', ['images', 'push', '--plain-http', name], CTR);
    await assertStored('e2e/ctr-push', 'v1', image);
  });

  it('pushes a multi-arch index imported from an OCI archive', TIMEOUT, async () => {
    const index = makeIndex({ layerSizes: [1024, MiB] });
    const name = `${registry.host}/e2e/ctr-push-index:v1`;
    await importArchive('push-index', name, index);
    await containerd.ctr('push-index', ['images', 'push', '--plain-http', name], CTR);
    await assertStored('e2e/ctr-push-index', 'v1', index);
  });

  it('pulls an image by tag and by digest and unpacks its layers', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [1024, 2 * MiB], platform: hostPlatform() });
    await pushContent(registry.url, 'e2e/ctr-pull', image, 'v1');
    const name = `${registry.host}/e2e/ctr-pull:v1`;

    await containerd.ctr(
      'pull-image',
      ['images', 'pull', '--plain-http', '--snapshotter', 'native', name],
      CTR,
    );
    assert.equal(await listedDigest('pull-image', name), image.manifest.digest);
    for (const layer of image.layers) {
      for (const file of layer.files) {
        const unpacked = await readFromSnapshots(file.name);
        assert.ok(unpacked !== undefined, `${file.name} of layer ${layer.digest} is in no snapshot`);
        assert.ok(unpacked.equals(file.content), `${file.name} was unpacked with other content`);
      }
    }

    const byDigest = `${registry.host}/e2e/ctr-pull@${image.manifest.digest}`;
    await containerd.ctr(
      'pull-digest',
      ['images', 'pull', '--plain-http', '--snapshotter', 'native', byDigest],
      CTR,
    );
    assert.equal(await listedDigest('pull-digest', byDigest), image.manifest.digest);
  });

  for (const format of ['oci', 'docker'] as ManifestFormat[]) {
    const kind = format === 'oci' ? 'an OCI index' : 'a Docker manifest list';
    it(`pulls ${kind} for all platforms and pushes it to another repository`, TIMEOUT, async () => {
      const index: ImageIndex = makeIndex({ format });
      const source = `e2e/ctr-${format}-list`;
      const target = `e2e/ctr-${format}-list-copy`;
      await pushContent(registry.url, source, index, 'v1');
      const ns = `list-${format}`;
      const name = `${registry.host}/${source}:v1`;

      await containerd.ctr(
        ns,
        ['images', 'pull', '--all-platforms', '--plain-http', '--snapshotter', 'native', name],
        CTR,
      );
      assert.equal(await listedDigest(ns, name), index.manifest.digest);

      // Same registry, other repository: containerd may mount the blobs instead of uploading.
      const copy = `${registry.host}/${target}:v1`;
      await containerd.ctr(ns, ['images', 'tag', name, copy], CTR);
      await containerd.ctr(ns, ['images', 'push', '--plain-http', copy], CTR);
      await assertStored(target, 'v1', index);
      const stored = await getManifest(registry.url, target, 'v1');
      assert.equal(stored.contentType, format === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList);
    });
  }
});
