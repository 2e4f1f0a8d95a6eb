import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { digestOf, parseDigest } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import { openDatabase, type Db } from '../database.js';
import { FilesystemDriver } from '../../storage/fs/driver.js';
import { Registry } from '../../registry/registry.js';
import { META_DB_FILE } from '../../registry/layout.js';
import { ContentReader } from '../../ui/content.js';
import { FULL_CHECK_MS } from '../ui-summaries.js';
import { SqliteUiSummaries as UiQueries } from './ui-summaries.js';
import { SqliteRegistryIndex } from './registry-index.js';
import { SqliteUploadSessions } from './upload-sessions.js';
import { SqliteCoordination } from './coordination.js';

const log = pino({ level: 'silent' });

interface Pushed {
  digest: string;
  /** manifest + config + layer bytes */
  imageSize: number;
}

async function putBlob(reg: Registry, repo: string, data: Buffer): Promise<void> {
  await reg.uploads.monolithic(repo, parseDigest(digestOf(data)), Readable.from([data]), data.length);
}

async function pushImage(
  reg: Registry,
  repo: string,
  tag: string | undefined,
  layerText: string,
  arch = 'amd64',
): Promise<Pushed> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      history: [{ created_by: `RUN ${layerText}` }],
      config: { Labels: { tag: tag ?? '' } },
    }),
  );
  const layer = Buffer.from(layerText);
  await putBlob(reg, repo, config);
  await putBlob(reg, repo, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayerTarGzip, digest: digestOf(layer), size: layer.length }],
    }),
  );
  const digest = digestOf(manifest);
  const ref =
    tag === undefined
      ? { kind: 'digest' as const, digest: parseDigest(digest) }
      : { kind: 'tag' as const, tag };
  await reg.manifests.put(repo, ref, manifest, MediaType.OciManifest);
  return { digest, imageSize: manifest.length + config.length + layer.length };
}

async function pushIndex(
  reg: Registry,
  repo: string,
  tag: string,
  children: { digest: string; arch: string }[],
): Promise<string> {
  const bodies = await Promise.all(children.map(async (c) => (await reg.index.manifest(repo, c.digest))!));
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: children.map((c, i) => ({
        mediaType: MediaType.OciManifest,
        digest: c.digest,
        size: bodies[i]!.size,
        platform: { os: 'linux', architecture: c.arch },
      })),
    }),
  );
  await reg.manifests.put(repo, { kind: 'tag', tag }, index, MediaType.OciIndex);
  return digestOf(index);
}

describe('UI queries and content facts', async () => {
  let root: string;
  let db: Db;
  let reg: Registry;
  let queries: UiQueries;
  let content: ContentReader;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'berth-ui-'));
    db = openDatabase(path.join(root, META_DB_FILE));
    reg = new Registry({
      driver: new FilesystemDriver(root),
      index: new SqliteRegistryIndex(db),
      coordination: new SqliteCoordination(db),
      uploadSessions: new SqliteUploadSessions(db),
      dedupe: true,
      log,
    });
    queries = new UiQueries(db);
    content = new ContentReader(reg, queries);
  });

  after(async () => {
    db.close();
    await rm(root, { recursive: true, force: true });
  });

  it('summarises each repository: tag count, newest tag, size of its distinct blobs', async () => {
    await pushImage(reg, 'alpha/app', 'v1', 'layer one');
    await new Promise((r) => setTimeout(r, 5));
    const v2 = await pushImage(reg, 'alpha/app', 'v2', 'layer two, longer');
    await queries.refreshSummaries();
    const summary = await queries.summary('alpha/app');
    assert.ok(summary);
    assert.equal(summary.tagCount, 2);
    assert.equal(summary.newestTag, 'v2');
    assert.equal(summary.newestDigest, v2.digest);
    const blobBytes = db
      .prepare('SELECT SUM(size) FROM blobs WHERE repo = ?')
      .pluck()
      .get('alpha/app') as number;
    assert.equal(summary.size, blobBytes);
    assert.ok(summary.updatedAt >= ((await reg.index.resolveTag('alpha/app', 'v2'))?.pushedAt ?? Infinity));
  });

  it('notices a changed repository by its index stamp, without being told', async () => {
    await queries.refreshSummaries();
    assert.deepEqual(await queries.staleRepositories(), []);
    await pushImage(reg, 'alpha/app', 'v3', 'layer three');
    assert.deepEqual(await queries.staleRepositories(), ['alpha/app']);
    await queries.refreshSummaries();
    assert.equal((await queries.summary('alpha/app'))?.tagCount, 3);
    assert.equal((await queries.summary('alpha/app'))?.newestTag, 'v3');
  });

  it('recomputes a repository an event touched, at once', async () => {
    await queries.refreshSummaries();
    await pushImage(reg, 'alpha/app', 'v4', 'layer four');
    queries.invalidate('alpha/app');
    await queries.ensureFresh();
    assert.equal((await queries.summary('alpha/app'))?.newestTag, 'v4');
    await reg.index.deleteRepository('batch-less/none');
    queries.invalidate('batch-less/none');
    await queries.ensureFresh();
    assert.equal(await queries.summary('batch-less/none'), undefined);
  });

  it('finds changes that raised no event within the full-check interval', async () => {
    let clock = 1_000_000;
    const timed = new UiQueries(db, { now: () => clock });
    await timed.ensureFresh();
    await pushImage(reg, 'quiet/app', 'v1', 'a quiet layer');
    clock += 2 * FULL_CHECK_MS;
    await timed.ensureFresh();
    assert.equal((await timed.summary('quiet/app'))?.newestTag, 'v1');
  });

  it('finds changes another process made at once', async () => {
    const clock = 2_000_000;
    const timed = new UiQueries(db, { now: () => clock });
    await timed.ensureFresh();
    await pushImage(reg, 'other/app', 'v1', 'a layer of the other process');
    const other = openDatabase(path.join(root, META_DB_FILE));
    other
      .prepare('UPDATE repositories SET index_stamp = ? WHERE name = ?')
      .run('changed elsewhere', 'other/app');
    other.close();
    await timed.ensureFresh();
    assert.equal((await timed.summary('other/app'))?.newestTag, 'v1');
  });

  it('computes the same summaries in bulk as one by one', async () => {
    await queries.refreshSummaries();
    const one = db.prepare('SELECT * FROM ui_repo_summary ORDER BY name').all();
    db.exec('DELETE FROM ui_repo_summary');
    const bulk = new UiQueries(db, { bulkRefreshFrom: 1 });
    assert.equal(await bulk.refreshSummaries(), 0);
    assert.deepEqual(db.prepare('SELECT * FROM ui_repo_summary ORDER BY name').all(), one);
    assert.ok(one.length >= 3);
  });

  it('refreshes in batches and reports what is left', async () => {
    for (const name of ['batch/a', 'batch/b', 'batch/c']) await pushImage(reg, name, 'x', `layer of ${name}`);
    assert.equal(await queries.refreshSummaries(2), 1);
    assert.equal(await queries.refreshSummaries(2), 0);
    assert.deepEqual(await queries.staleRepositories(), []);
  });

  it('drops the summary of a deleted repository', async () => {
    await pushImage(reg, 'gone/soon', 'x', 'doomed layer');
    await queries.refreshSummaries();
    assert.ok((await queries.repositoryNames('', 'name', 'asc')).includes('gone/soon'));
    await reg.index.deleteRepository('gone/soon');
    await queries.refreshSummaries();
    assert.equal(await queries.summary('gone/soon'), undefined);
    assert.ok(!(await queries.repositoryNames('', 'name', 'asc')).includes('gone/soon'));
  });

  it('filters names case-insensitively and treats LIKE wildcards as plain text', async () => {
    await pushImage(reg, 'under_score/x', 'x', 'underscore layer');
    await pushImage(reg, 'underxscore/x', 'x', 'other underscore layer');
    await queries.refreshSummaries();
    assert.deepEqual(await queries.repositoryNames('ALPHA', 'name', 'asc'), ['alpha/app']);
    assert.deepEqual(await queries.repositoryNames('under_', 'name', 'asc'), ['under_score/x']);
    assert.deepEqual(await queries.repositoryNames('%', 'name', 'asc'), []);
  });

  it('sorts by name, last update and size in both directions', async () => {
    await pushImage(reg, 'sort/small', 'x', 's');
    await new Promise((r) => setTimeout(r, 5));
    await pushImage(reg, 'sort/big', 'x', 'b'.repeat(50_000));
    await queries.refreshSummaries();
    const sortNames = (s: 'name' | 'updated' | 'size', d: 'asc' | 'desc'): Promise<string[]> =>
      queries.repositoryNames('sort/', s, d);
    assert.deepEqual(await sortNames('name', 'asc'), ['sort/big', 'sort/small']);
    assert.deepEqual(await sortNames('name', 'desc'), ['sort/small', 'sort/big']);
    assert.deepEqual(await sortNames('updated', 'desc'), ['sort/big', 'sort/small']);
    assert.deepEqual(await sortNames('updated', 'asc'), ['sort/small', 'sort/big']);
    assert.deepEqual(await sortNames('size', 'desc'), ['sort/big', 'sort/small']);
    assert.deepEqual(await sortNames('size', 'asc'), ['sort/small', 'sort/big']);
  });

  it('leaves out repositories that hold no manifest', async () => {
    await putBlob(reg, 'blobs/only', Buffer.from('a lonely blob'));
    db.prepare(
      "INSERT OR IGNORE INTO repositories (name, index_stamp, created_at) VALUES ('blobs/only', 'x', 0)",
    ).run();
    await queries.refreshSummaries();
    assert.ok(!(await queries.repositoryNames('', 'name', 'asc')).includes('blobs/only'));
    assert.equal(await queries.summary('blobs/only'), undefined);
  });

  it('lists tags with their manifests, filtered and sorted', async () => {
    const rows = await queries.tags('alpha/app', '', 'pushed');
    assert.deepEqual(
      rows.map((r) => r.tag),
      ['v4', 'v3', 'v2', 'v1'],
    );
    assert.deepEqual(
      (await queries.tags('alpha/app', '', 'name')).map((r) => r.tag),
      ['v1', 'v2', 'v3', 'v4'],
    );
    assert.deepEqual(
      (await queries.tags('alpha/app', 'V2', 'name')).map((r) => r.tag),
      ['v2'],
    );
    assert.equal(rows[0]?.mediaType, MediaType.OciManifest);
    assert.equal(rows[0]?.artifactType, MediaType.OciConfig);
  });

  it('gives one window of the sorted, filtered tags and counts the matches', async () => {
    assert.deepEqual(
      (await queries.tags('alpha/app', '', 'pushed', { offset: 1, limit: 2 })).map((r) => r.tag),
      ['v3', 'v2'],
    );
    assert.deepEqual(
      (await queries.tags('alpha/app', '', 'name', { offset: 3, limit: 2 })).map((r) => r.tag),
      ['v4'],
    );
    assert.equal(await queries.tagMatches('alpha/app', ''), 4);
    assert.equal(await queries.tagMatches('alpha/app', 'V2'), 1);
    assert.equal(await queries.tagMatches('alpha/app', 'nothing'), 0);
  });

  it('derives platforms and total size from an image and from an index', async () => {
    const amd = await pushImage(reg, 'multi/app', undefined, 'amd layer', 'amd64');
    const arm = await pushImage(reg, 'multi/app', undefined, 'arm layer!', 'arm64');
    const index = await pushIndex(reg, 'multi/app', 'latest', [
      { digest: amd.digest, arch: 'amd64' },
      { digest: arm.digest, arch: 'arm64' },
    ]);
    const image = await content.info('multi/app', amd.digest);
    assert.deepEqual(image, {
      imageSize: amd.imageSize,
      platforms: [{ os: 'linux', architecture: 'amd64' }],
    });
    const indexInfo = await content.info('multi/app', index);
    const indexSize = (await reg.index.manifest('multi/app', index))!.size;
    assert.equal(indexInfo?.imageSize, indexSize + amd.imageSize + arm.imageSize);
    assert.deepEqual(indexInfo?.platforms, [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    // Cached by digest: the facts are the content's, whichever repository holds it.
    assert.deepEqual(await queries.manifestInfo(index), indexInfo);
    assert.equal(await content.info('multi/app', digestOf('not a manifest here')), undefined);
  });

  it('describes an image for its page: layers, labels, history, referrers', async () => {
    const base = await pushImage(reg, 'view/app', 'v1', 'the layer');
    const emptyConfig = Buffer.from('{}');
    await putBlob(reg, 'view/app', emptyConfig);
    const signature = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        config: { mediaType: MediaType.OciEmpty, digest: digestOf(emptyConfig), size: 2 },
        layers: [],
        subject: {
          mediaType: MediaType.OciManifest,
          digest: base.digest,
          size: (await reg.index.manifest('view/app', base.digest))!.size,
        },
      }),
    );
    await reg.manifests.put(
      'view/app',
      { kind: 'digest', digest: parseDigest(digestOf(signature)) },
      signature,
      MediaType.OciManifest,
    );
    const view = await content.image('view/app', (await reg.index.resolveTag('view/app', 'v1'))!);
    assert.ok(view);
    assert.deepEqual(view.tags, ['v1']);
    assert.equal(view.layers.length, 1);
    assert.equal(view.layers[0]?.size, 'the layer'.length);
    assert.deepEqual(view.labels, { tag: 'v1' });
    assert.deepEqual(view.history, [{ createdBy: 'RUN the layer', emptyLayer: false }]);
    assert.deepEqual(view.platforms, [{ os: 'linux', architecture: 'amd64' }]);
    assert.equal(view.referrers.length, 1);
    assert.equal(view.referrers[0]?.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
    const sigView = await content.image(
      'view/app',
      (await reg.index.manifest('view/app', digestOf(signature)))!,
    );
    assert.equal(sigView?.subject?.digest, base.digest);
    assert.equal(sigView?.subject?.present, true);
    assert.equal(sigView?.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  });
});
