/**
 * skopeo (containers/image, the push path of our first user's CI) against a real registry:
 * a build-free round trip through OCI layouts, inspect, list-tags, delete, sync, a multi-arch
 * index and Docker media types.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CommandError,
  requireCommand,
  runOk,
  startRegistryUnderTest,
  type Registry,
  type RunResult,
} from '../support/clients.js';
import {
  getBlob,
  getManifest,
  listTags,
  makeImage,
  makeIndex,
  MediaType,
  pushContent,
  putManifest,
  readOciLayout,
  sha256,
  writeOciLayout,
  type Image,
} from '../support/fixtures.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 300_000 };

describe('skopeo', () => {
  let registry: Registry;
  let work: string;
  let skopeoBin: string;
  let policy: string;

  /** Runs skopeo with a private trust policy (no dependency on /etc/containers). */
  const skopeo = (args: string[]): Promise<RunResult> =>
    runOk(skopeoBin, ['--policy', policy, ...args], { timeoutMs: 240_000 });
  const ref = (repo: string, tag: string): string => `docker://${registry.host}/${repo}:${tag}`;
  const noTls = ['--tls-verify=false'];

  before(async () => {
    skopeoBin = requireCommand('skopeo');
    work = await mkdtemp(path.join(tmpdir(), 'e2e-skopeo-'));
    policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    registry = await startRegistryUnderTest();
  });

  after(async () => {
    await registry?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** Checks that the registry serves an image's manifest byte for byte and every blob intact. */
  async function assertStored(repo: string, reference: string, image: Image): Promise<void> {
    const m = await getManifest(registry.url, repo, reference);
    assert.equal(m.status, 200, `GET manifest ${repo}:${reference}: ${m.bytes.toString()}`);
    assert.equal(m.contentType, image.manifest.mediaType);
    assert.equal(m.digestHeader, image.manifest.digest);
    assert.equal(sha256(m.bytes), image.manifest.digest, 'manifest bytes differ from what was pushed');
    for (const blob of image.blobs) {
      assert.equal(sha256(await getBlob(registry.url, repo, blob.digest)), blob.digest);
    }
  }

  it('copies an OCI layout into the registry and back without changing a digest', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [1024, 3 * MiB] });
    const src = await writeOciLayout(path.join(work, 'roundtrip-src'), [{ content: image, tag: 'v1' }]);
    await skopeo([
      'copy',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${src}:v1`,
      ref('e2e/roundtrip', 'v1'),
    ]);
    await assertStored('e2e/roundtrip', 'v1', image);

    const dst = path.join(work, 'roundtrip-dst');
    await skopeo([
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      ref('e2e/roundtrip', 'v1'),
      `oci:${dst}:back`,
    ]);
    const layout = await readOciLayout(dst);
    const top = layout.byTag('back');
    assert.equal(top.digest, image.manifest.digest);
    assert.equal(top.mediaType, MediaType.ociManifest);
    assert.ok((await layout.blob(top.digest)).equals(image.manifest.bytes));
    for (const blob of image.blobs) await layout.blob(blob.digest);
  });

  it('inspects an image: digest, platform, layers, raw manifest and config', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [512, 2048], platform: { os: 'linux', architecture: 'arm64' } });
    await pushContent(registry.url, 'e2e/inspect', image, 'v1');

    const info = JSON.parse((await skopeo(['inspect', ...noTls, ref('e2e/inspect', 'v1')])).stdout) as {
      Digest: string;
      Architecture: string;
      Os: string;
      Layers: string[];
      Labels: Record<string, string>;
    };
    assert.equal(info.Digest, image.manifest.digest);
    assert.equal(info.Architecture, 'arm64');
    assert.equal(info.Os, 'linux');
    assert.deepEqual(
      info.Layers,
      image.layers.map((l) => l.digest),
    );
    const configJson = JSON.parse(image.config.bytes.toString()) as {
      config: { Labels: Record<string, string> };
    };
    assert.deepEqual(info.Labels, configJson.config.Labels);

    const raw = await skopeo(['inspect', '--raw', ...noTls, ref('e2e/inspect', 'v1')]);
    assert.equal(raw.stdout, image.manifest.bytes.toString());
    const config = await skopeo(['inspect', '--config', '--raw', ...noTls, ref('e2e/inspect', 'v1')]);
    assert.equal(config.stdout, image.config.bytes.toString());
  });

  it('lists the tags of a repository', TIMEOUT, async () => {
    const one = makeImage();
    const two = makeImage();
    await pushContent(registry.url, 'e2e/tags', one, 'v1');
    await putManifest(registry.url, 'e2e/tags', 'latest', one.manifest);
    await pushContent(registry.url, 'e2e/tags', two, 'v2.0.1-rc_1');

    const out = JSON.parse(
      (await skopeo(['list-tags', ...noTls, `docker://${registry.host}/e2e/tags`])).stdout,
    ) as {
      Repository: string;
      Tags: string[];
    };
    assert.equal(out.Repository, `${registry.host}/e2e/tags`);
    assert.deepEqual([...out.Tags].sort(), ['latest', 'v1', 'v2.0.1-rc_1']);
  });

  it('deletes a manifest, and with it every tag on it', TIMEOUT, async () => {
    const doomed = makeImage();
    const kept = makeImage();
    await pushContent(registry.url, 'e2e/delete', doomed, 'a');
    await putManifest(registry.url, 'e2e/delete', 'b', doomed.manifest);
    await pushContent(registry.url, 'e2e/delete', kept, 'keep');

    await skopeo(['delete', ...noTls, ref('e2e/delete', 'a')]);

    assert.equal((await getManifest(registry.url, 'e2e/delete', doomed.manifest.digest)).status, 404);
    assert.equal((await getManifest(registry.url, 'e2e/delete', 'b')).status, 404);
    assert.deepEqual(await listTags(registry.url, 'e2e/delete'), ['keep']);
    await assert.rejects(skopeo(['inspect', '--raw', ...noTls, ref('e2e/delete', 'b')]), CommandError);
    await assertStored('e2e/delete', 'keep', kept);
  });

  it('syncs every tag of a repository to another repository and to a folder', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [1024, 1024] });
    const index = makeIndex();
    await pushContent(registry.url, 'e2e/sync-src', image, 'v1');
    await pushContent(registry.url, 'e2e/sync-src', index, 'multi');

    await skopeo([
      'sync',
      '--all',
      '--preserve-digests',
      '--src',
      'docker',
      '--dest',
      'docker',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `${registry.host}/e2e/sync-src`,
      `${registry.host}/e2e/mirror`,
    ]);
    // sync names the copy after the source's last path component.
    assert.deepEqual((await listTags(registry.url, 'e2e/mirror/sync-src')).sort(), ['multi', 'v1']);
    await assertStored('e2e/mirror/sync-src', 'v1', image);
    const list = await getManifest(registry.url, 'e2e/mirror/sync-src', 'multi');
    assert.equal(list.digestHeader, index.manifest.digest);
    for (const child of index.images) await assertStored('e2e/mirror/sync-src', child.manifest.digest, child);

    const dir = path.join(work, 'sync-dir');
    await skopeo([
      'sync',
      '--src',
      'docker',
      '--dest',
      'dir',
      '--src-tls-verify=false',
      `${registry.host}/e2e/sync-src`,
      dir,
    ]);
    const manifest = await readFile(path.join(dir, 'sync-src:v1', 'manifest.json'));
    assert.equal(sha256(manifest), image.manifest.digest);
  });

  it('copies a multi-arch OCI index with --all, and one platform with --override-arch', TIMEOUT, async () => {
    const index = makeIndex({ layerSizes: [1024, MiB] });
    const [amd64, arm64] = index.images;
    assert.ok(amd64 !== undefined && arm64 !== undefined);
    const src = await writeOciLayout(path.join(work, 'multi-src'), [{ content: index, tag: 'v1' }]);
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${src}:v1`,
      ref('e2e/multi', 'v1'),
    ]);

    const stored = await getManifest(registry.url, 'e2e/multi', 'v1');
    assert.equal(stored.contentType, MediaType.ociIndex);
    assert.equal(sha256(stored.bytes), index.manifest.digest);
    for (const image of index.images) await assertStored('e2e/multi', image.manifest.digest, image);

    const arm = JSON.parse(
      (await skopeo(['--override-arch', 'arm64', 'inspect', ...noTls, ref('e2e/multi', 'v1')])).stdout,
    ) as {
      Architecture: string;
      Layers: string[];
    };
    assert.equal(arm.Architecture, 'arm64');
    assert.deepEqual(
      arm.Layers,
      arm64.layers.map((l) => l.digest),
    );

    const all = path.join(work, 'multi-all');
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      '--src-tls-verify=false',
      ref('e2e/multi', 'v1'),
      `oci:${all}:v1`,
    ]);
    const layout = await readOciLayout(all);
    assert.equal(layout.byTag('v1').digest, index.manifest.digest);
    for (const image of index.images) {
      await layout.blob(image.manifest.digest);
      for (const blob of image.blobs) await layout.blob(blob.digest);
    }

    const one = path.join(work, 'multi-arm64');
    await skopeo([
      '--override-arch',
      'arm64',
      'copy',
      '--src-tls-verify=false',
      ref('e2e/multi', 'v1'),
      `oci:${one}:v1`,
    ]);
    assert.equal((await readOciLayout(one)).byTag('v1').digest, arm64.manifest.digest);
  });

  it('converts an OCI image to Docker schema 2 with --format v2s2', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [1024, 1024] });
    const src = await writeOciLayout(path.join(work, 'v2s2-src'), [{ content: image, tag: 'v1' }]);
    await skopeo([
      'copy',
      '--format',
      'v2s2',
      '--dest-tls-verify=false',
      `oci:${src}:v1`,
      ref('e2e/v2s2', 'v1'),
    ]);

    const stored = await getManifest(registry.url, 'e2e/v2s2', 'v1');
    assert.equal(stored.status, 200);
    assert.equal(stored.contentType, MediaType.dockerManifest);
    assert.equal(stored.digestHeader, sha256(stored.bytes));
    const manifest = JSON.parse(stored.bytes.toString()) as {
      mediaType: string;
      config: { mediaType: string; digest: string };
      layers: Array<{ mediaType: string; digest: string }>;
    };
    assert.equal(manifest.mediaType, MediaType.dockerManifest);
    assert.equal(manifest.config.mediaType, MediaType.dockerConfig);
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest]),
      image.layers.map((l) => [MediaType.dockerLayerGzip, l.digest]),
    );
    const config = await getBlob(registry.url, 'e2e/v2s2', manifest.config.digest);
    assert.equal(sha256(config), manifest.config.digest);

    const raw = await skopeo(['inspect', '--raw', ...noTls, ref('e2e/v2s2', 'v1')]);
    assert.equal(sha256(raw.stdout), stored.digestHeader);
  });

  it(
    'copies a Docker manifest list and its schema-2 images with their digests preserved',
    TIMEOUT,
    async () => {
      const list = makeIndex({ format: 'docker' });
      await pushContent(registry.url, 'e2e/dockerlist', list, 'v1');

      await skopeo([
        'copy',
        '--all',
        '--preserve-digests',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        ref('e2e/dockerlist', 'v1'),
        ref('e2e/dockerlist-copy', 'v1'),
      ]);
      const copied = await getManifest(registry.url, 'e2e/dockerlist-copy', 'v1');
      assert.equal(copied.contentType, MediaType.dockerManifestList);
      assert.equal(sha256(copied.bytes), list.manifest.digest);
      for (const image of list.images)
        await assertStored('e2e/dockerlist-copy', image.manifest.digest, image);

      const raw = await skopeo(['inspect', '--raw', ...noTls, ref('e2e/dockerlist-copy', 'v1')]);
      assert.equal(raw.stdout, list.manifest.bytes.toString());
    },
  );
});
