import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { digestOf, parseDigest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import { openSqliteStore } from '../meta/sqlite/store.js';
import { FilesystemDriver } from '../storage/fs/driver.js';
import { Registry } from './registry.js';
import { META_DB_FILE } from './layout.js';

const log = pino({ level: 'silent' });

async function open(root: string): Promise<Registry> {
  const { meta, coordination } = openSqliteStore(path.join(root, META_DB_FILE));
  return new Registry({
    driver: new FilesystemDriver(root),
    index: meta.registryIndex,
    uploadSessions: meta.uploadSessions,
    coordination,
    dedupe: true,
    log,
  });
}

async function pushImage(reg: Registry, repo: string, tag: string, layerText: string): Promise<string> {
  const config = Buffer.from(
    `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"x":"${tag}"}`,
  );
  const layer = Buffer.from(layerText);
  for (const blob of [config, layer]) {
    await reg.uploads.monolithic(repo, parseDigest(digestOf(blob)), Readable.from([blob]), blob.length);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayerTarGzip, digest: digestOf(layer), size: layer.length }],
    }),
  );
  const result = await reg.manifests.put(repo, { kind: 'tag', tag }, manifest, MediaType.OciManifest);
  return result.digest;
}

describe('registry services on the filesystem', () => {
  it('stores a blob once across repositories (hard link) when dedupe is on', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-reg-'));
    const reg = await open(root);
    await pushImage(reg, 'one/app', 'v1', 'shared layer bytes');
    await pushImage(reg, 'two/app', 'v1', 'shared layer bytes');
    const hex = digestOf('shared layer bytes').slice(7);
    const a = await stat(path.join(root, 'one/app/blobs/sha256', hex));
    const b = await stat(path.join(root, 'two/app/blobs/sha256', hex));
    assert.equal(a.ino, b.ino, 'same inode');
    assert.equal(a.nlink, 2);
    await rm(root, { recursive: true, force: true });
  });

  it('writes a small blob whose indexed copy elsewhere is gone, and forgets that copy', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-reg-'));
    const reg = await open(root);
    await pushImage(reg, 'one/app', 'v1', 'layer lost behind our back');
    const digest = digestOf('layer lost behind our back');
    await rm(path.join(root, 'one/app/blobs/sha256', digest.slice(7)));
    await pushImage(reg, 'two/app', 'v1', 'layer lost behind our back');
    const b = await stat(path.join(root, 'two/app/blobs/sha256', digest.slice(7)));
    assert.equal(b.nlink, 1, 'written, not linked');
    assert.equal(
      (await readFile(path.join(root, 'two/app/blobs/sha256', digest.slice(7)))).toString(),
      'layer lost behind our back',
    );
    assert.deepEqual(await reg.index.blobHolders(digest), ['two/app'], 'the stale row is gone');
    await rm(root, { recursive: true, force: true });
  });

  it('rebuilds a lost metadata database from the OCI layouts', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-reg-'));
    const first = await open(root);
    const digest = await pushImage(first, 'lib/x', 'latest', 'layer');
    await pushImage(first, 'lib/y', '1.0', 'other');
    await rm(path.join(root, '_berth'), { recursive: true, force: true });
    const second = await open(root);
    const result = await second.reconcile();
    assert.equal(result.reindexed, 2);
    assert.deepEqual(await second.catalog('', 10), ['lib/x', 'lib/y']);
    assert.equal((await second.manifests.resolve('lib/x', { kind: 'tag', tag: 'latest' }))?.digest, digest);
    await rm(root, { recursive: true, force: true });
  });

  it('re-reads a repository whose index.json changed behind its back', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-reg-'));
    const reg = await open(root);
    const digest = await pushImage(reg, 'app', 'v1', 'layer');
    // As if the process died after writing index.json but before updating the database.
    const indexPath = path.join(root, 'app/index.json');
    const doc = JSON.parse((await import('node:fs')).readFileSync(indexPath, 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    doc.manifests[0]!.annotations = { 'org.opencontainers.image.ref.name': 'v2' };
    await writeFile(indexPath, JSON.stringify(doc));
    const result = await reg.reconcile();
    assert.equal(result.reindexed, 1);
    assert.equal(await reg.manifests.resolve('app', { kind: 'tag', tag: 'v1' }), undefined);
    assert.equal((await reg.manifests.resolve('app', { kind: 'tag', tag: 'v2' }))?.digest, digest);
    await rm(root, { recursive: true, force: true });
  });

  it('serialises concurrent pushes to one tag: the tag ends on one of them and every manifest stays listed', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-reg-'));
    const reg = await open(root);
    const digests = await Promise.all(
      Array.from({ length: 8 }, (_, i) => pushImage(reg, 'race', 'latest', `layer ${i}`)),
    );
    const final = (await reg.manifests.resolve('race', { kind: 'tag', tag: 'latest' }))?.digest;
    assert.ok(final && digests.includes(final));
    for (const d of digests)
      assert.ok(await reg.manifests.resolve('race', { kind: 'digest', digest: parseDigest(d) }), d);
    await rm(root, { recursive: true, force: true });
  });
});
