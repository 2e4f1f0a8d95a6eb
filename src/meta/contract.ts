/**
 * The contract every MetadataStore implementation must pass. The factory returns two stores on one
 * shared database, as two processes see it (for SQLite: two handles on one file): what one writes,
 * the other reads at once, and single-use records are used once across both.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataStore } from './store.js';
import type { ManifestRecord } from './registry-index.js';

export interface MetadataStorePair {
  a: MetadataStore;
  b: MetadataStore;
  close: () => Promise<void>;
}

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const LAYER = `sha256:${'3'.repeat(64)}`;

function manifest(repo: string, digest: string, extra: Partial<ManifestRecord> = {}): ManifestRecord {
  return {
    repo,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 100,
    artifactType: null,
    subject: null,
    annotations: null,
    pushedAt: 1_000,
    references: [LAYER],
    ...extra,
  };
}

export function describeMetadataStoreContract(name: string, fresh: () => Promise<MetadataStorePair>): void {
  describe(`metadata store contract: ${name}`, () => {
    const withPair = async (fn: (pair: MetadataStorePair) => Promise<void>): Promise<void> => {
      const pair = await fresh();
      try {
        await fn(pair);
      } finally {
        await pair.close();
      }
    };

    it('registry index: a manifest, its tags, references and referrers written by one are read by the other', () =>
      withPair(async ({ a, b }) => {
        await a.registryIndex.addBlob('team/app', LAYER, 5000);
        await a.registryIndex.recordManifest(manifest('team/app', D1), ['v1', 'latest'], 'stamp-1');
        await a.registryIndex.recordManifest(
          manifest('team/app', D2, { subject: D1, artifactType: 'application/x-sig', references: [] }),
          [],
          'stamp-2',
        );
        const ib = b.registryIndex;
        assert.equal(await ib.repositoryExists('team/app'), true);
        assert.equal(await ib.stamp('team/app'), 'stamp-2');
        assert.equal((await ib.resolveTag('team/app', 'v1'))?.digest, D1);
        assert.deepEqual((await ib.manifest('team/app', D1))?.references, [LAYER]);
        assert.deepEqual(await ib.tagsPage('team/app', '', 10), ['latest', 'v1']);
        assert.deepEqual(await ib.tagsPage('team/app', 'latest', 10), ['v1']);
        assert.deepEqual(await ib.catalog('', 10), ['team/app']);
        assert.deepEqual(
          (await ib.referrers('team/app', D1)).map((m) => m.artifactType),
          ['application/x-sig'],
        );
        assert.deepEqual(await ib.referencedBy('team/app', LAYER), [D1]);
        assert.deepEqual(await ib.blobHolders(LAYER), ['team/app']);
        assert.equal(await ib.blobHolder(LAYER), 'team/app');
        assert.equal(await ib.blobHolder(LAYER, 'team/app'), undefined, 'no holder but the one excepted');
        await a.registryIndex.addBlob('team/base', LAYER, 5000);
        await a.registryIndex.addBlob('team/zz', LAYER, 5000);
        assert.equal(await ib.blobHolder(LAYER), 'team/app', 'the first in byte order');
        assert.equal(await ib.blobHolder(LAYER, 'team/app'), 'team/base');
        assert.equal(await ib.blobHolder(LAYER, 'team/base'), 'team/app');
        await b.registryIndex.removeBlob('team/base', LAYER);
        await b.registryIndex.removeBlob('team/zz', LAYER);
        assert.equal(await a.registryIndex.blobHolder(LAYER, 'team/app'), undefined);
        assert.deepEqual(await ib.repositorySizes(), [{ repo: 'team/app', bytes: 5000 }]);

        await b.registryIndex.removeTag('team/app', 'latest', 'stamp-3');
        assert.deepEqual(await a.registryIndex.tagsForDigest('team/app', D1), ['v1']);
        await b.registryIndex.removeManifest('team/app', D1, 'stamp-4');
        assert.equal(await a.registryIndex.resolveTag('team/app', 'v1'), undefined);
        assert.equal(await a.registryIndex.manifest('team/app', D1), undefined);
        await a.registryIndex.deleteRepository('team/app');
        assert.equal(await b.registryIndex.repositoryExists('team/app'), false);
        assert.deepEqual(await b.registryIndex.catalog('', 10), []);
      }));

    it('registry index: replaceRepositories swaps everything known about each repository at once', () =>
      withPair(async ({ a, b }) => {
        await a.registryIndex.recordManifest(manifest('r', D1), ['old'], 's1');
        await a.registryIndex.recordManifest(manifest('keep', D1), ['v1'], 'k1');
        await b.registryIndex.replaceRepositories([
          {
            repo: 'r',
            stamp: 's2',
            manifests: [manifest('r', D2)],
            tags: [{ tag: 'new', digest: D2, pushedAt: 5 }],
            blobs: [{ digest: LAYER, size: 7 }],
          },
          { repo: 'fresh', stamp: 'f1', manifests: [manifest('fresh', D1)], tags: [], blobs: [] },
        ]);
        assert.equal(await a.registryIndex.resolveTag('r', 'old'), undefined);
        assert.equal((await a.registryIndex.resolveTag('r', 'new'))?.digest, D2);
        assert.equal(await a.registryIndex.blobSize('r', LAYER), 7);
        assert.equal((await a.registryIndex.manifest('fresh', D1))?.digest, D1);
        assert.equal(
          (await a.registryIndex.resolveTag('keep', 'v1'))?.digest,
          D1,
          'repositories not in the batch stay',
        );
        assert.deepEqual(
          await a.registryIndex.allStamps(),
          new Map([
            ['r', 's2'],
            ['keep', 'k1'],
            ['fresh', 'f1'],
          ]),
        );
        await b.registryIndex.replaceRepositories([]);
        assert.equal((await a.registryIndex.allStamps()).size, 3);
      }));

    it('API keys: created on one, found by key and id on the other, revoked by their owner only', () =>
      withPair(async ({ a, b }) => {
        const now = new Date('2026-01-01T00:00:00Z');
        const { key, record } = await a.apiKeys.create({
          owner: 'carol',
          label: 'ci',
          scopes: null,
          creatorUa: 'test',
          expiresAt: undefined,
          now,
        });
        assert.deepEqual(await b.apiKeys.findByKey(key), record);
        assert.deepEqual(await b.apiKeys.findById(record.id), record);
        assert.equal((await b.apiKeys.listByOwner('carol')).length, 1);
        await b.apiKeys.recordUse(record.id, now);
        assert.equal((await a.apiKeys.findById(record.id))?.lastUsedAt?.getTime(), now.getTime());
        assert.equal(await b.apiKeys.revoke('dave', record.id), false);
        assert.equal(await b.apiKeys.revoke('carol', record.id), true);
        assert.equal(await a.apiKeys.findByKey(key), undefined);
      }));

    it('sessions and users: a session started on one is live on the other until deleted or expired', () =>
      withPair(async ({ a, b }) => {
        const now = new Date('2026-01-01T00:00:00Z');
        await a.users.recordSignIn('alice', ['admins'], now);
        const { id } = await a.sessions.create('alice', undefined, now, 60_000);
        assert.equal((await b.sessions.find(id, now))?.username, 'alice');
        assert.deepEqual(await b.users.groupsOf('alice'), ['admins']);
        assert.equal(await b.users.groupsOf('nobody'), undefined);
        await b.sessions.delete(id);
        assert.equal(await a.sessions.find(id, now), undefined);
        const short = await a.sessions.create('alice', 'oidc', now, 1);
        assert.equal(await b.sessions.purgeExpired(new Date(now.getTime() + 10)), 1);
        assert.equal(await a.sessions.find(short.id, now), undefined);
      }));

    it('sign-in states: saved on one, taken once across both', () =>
      withPair(async ({ a, b }) => {
        const now = new Date('2026-01-01T00:00:00Z');
        const login = { provider: 'oidc', codeVerifier: 'v', nonce: 'n', callback: '/' };
        await a.signIns.save('state', login, new Date(now.getTime() + 60_000), now);
        assert.deepEqual(await b.signIns.take('state', now), login);
        assert.equal(await a.signIns.take('state', now), undefined);
      }));

    it('pull times and recent blobs: recorded by one, read by the other', () =>
      withPair(async ({ a, b }) => {
        await a.pullTimes.record([
          { repo: 'r', digest: D1, at: 10 },
          { repo: 'r', digest: D2, at: 20 },
        ]);
        await b.pullTimes.record([{ repo: 'r', digest: D1, at: 5 }]);
        assert.deepEqual(
          await b.pullTimes.lastPulls('r'),
          new Map([
            [D1, 10],
            [D2, 20],
          ]),
        );
        await b.pullTimes.forget('r', [D2]);
        assert.deepEqual(await a.pullTimes.lastPulls('r'), new Map([[D1, 10]]));
        await a.recentBlobs.record([
          { repo: 'r', digest: LAYER, at: 90 },
          { repo: 'r', digest: LAYER, at: 100 },
        ]);
        assert.equal(await b.recentBlobs.storedAt('r', LAYER), 100);
        await b.recentBlobs.purge(101);
        assert.equal(await a.recentBlobs.storedAt('r', LAYER), undefined);
      }));

    it('deleting a manifest deletes the rows that live only as long as it, in every repository once none indexes it', () =>
      withPair(async ({ a, b }) => {
        const info = { imageSize: 1, platforms: [] };
        for (const repo of ['team/app', 'other/app']) {
          await a.registryIndex.recordManifest(manifest(repo, D1), ['v1'], 'stamp-1');
          await a.registryIndex.recordManifest(manifest(repo, D2), [], 'stamp-2');
          await a.pullTimes.record([
            { repo, digest: D1, at: 10 },
            { repo, digest: D2, at: 20 },
          ]);
          await a.downloadCounts.record([
            { repo, digest: D1, count: 1, lastPullAt: 10 },
            { repo, digest: D2, count: 2, lastPullAt: 20 },
          ]);
        }
        for (const digest of [D1, D2]) {
          await a.uiSummaries.saveManifestInfo(digest, info);
          await a.imageFacts.put(digest, { digest });
        }

        await b.registryIndex.removeManifest('team/app', D1, 'stamp-3');
        assert.deepEqual(await a.pullTimes.lastPulls('team/app'), new Map([[D2, 20]]));
        assert.equal(await a.downloadCounts.ofManifest('team/app', D1), undefined);
        assert.deepEqual(await a.downloadCounts.ofManifest('team/app', D2), { count: 2, lastPullAt: 20 });
        assert.equal(
          await a.pullTimes.lastPulls('other/app').then((m) => m.get(D1)),
          10,
          'other repositories keep theirs',
        );
        assert.deepEqual(await a.uiSummaries.manifestInfo(D1), info, 'another repository still indexes D1');
        assert.deepEqual(await a.imageFacts.get(D1), { digest: D1 });

        await b.registryIndex.removeManifest('other/app', D1, 'stamp-3');
        assert.equal(await a.uiSummaries.manifestInfo(D1), undefined, 'no repository indexes D1 any more');
        assert.equal(await a.imageFacts.get(D1), undefined);
        assert.deepEqual(await a.uiSummaries.manifestInfo(D2), info);

        // Reconciliation: the manifests that stay keep their rows.
        await b.registryIndex.replaceRepositories([
          { repo: 'other/app', stamp: 'stamp-4', manifests: [], tags: [], blobs: [] },
          { repo: 'team/app', stamp: 'stamp-4', manifests: [manifest('team/app', D2)], tags: [], blobs: [] },
        ]);
        assert.deepEqual(await a.pullTimes.lastPulls('team/app'), new Map([[D2, 20]]));
        assert.deepEqual(await a.pullTimes.lastPulls('other/app'), new Map());
        assert.equal(await a.downloadCounts.ofManifest('other/app', D2), undefined);
        assert.deepEqual(await a.uiSummaries.manifestInfo(D2), info, 'team/app still indexes D2');

        await b.registryIndex.deleteRepository('team/app');
        assert.deepEqual(await a.pullTimes.lastPulls('team/app'), new Map());
        assert.equal(await a.downloadCounts.ofRepository('team/app'), 0);
        assert.equal(await a.downloadCounts.ofRepository('other/app'), 3, 'its repository is still indexed');
        assert.equal(await a.uiSummaries.manifestInfo(D2), undefined);
        assert.equal(await a.imageFacts.get(D2), undefined);
        assert.equal(await a.registryIndex.purgeOrphans(), 0, 'nothing left behind');
      }));

    it('purgeOrphans deletes rows written after their manifest or repository went, and only those', () =>
      withPair(async ({ a, b }) => {
        const info = { imageSize: 1, platforms: [] };
        await a.registryIndex.recordManifest(manifest('team/app', D1), ['v1'], 'stamp-1');
        // Written as if by a pull or a request that raced the deletes: rows of D2 (never indexed
        // here), of a repository that does not exist, and of D1 (indexed: stays).
        await a.pullTimes.record([
          { repo: 'team/app', digest: D1, at: 10 },
          { repo: 'team/app', digest: D2, at: 20 },
          { repo: 'gone/app', digest: D1, at: 30 },
        ]);
        await a.downloadCounts.record([
          { repo: 'team/app', digest: D2, count: 1, lastPullAt: 20 },
          { repo: 'gone/app', digest: D1, count: 1, lastPullAt: 30 },
        ]);
        await a.uiSummaries.saveManifestInfo(D1, info);
        await a.uiSummaries.saveManifestInfo(D2, info);
        await a.imageFacts.put(D2, { digest: D2 });

        // gc_pulls team/app D2 and gone/app D1, two manifest download rows, the gone/app total,
        // D2's UI info and facts.
        assert.equal(await b.registryIndex.purgeOrphans(), 7);
        assert.deepEqual(await a.pullTimes.lastPulls('team/app'), new Map([[D1, 10]]));
        assert.deepEqual(await a.pullTimes.lastPulls('gone/app'), new Map());
        assert.equal(await a.downloadCounts.ofManifest('team/app', D2), undefined);
        assert.equal(await a.downloadCounts.ofRepository('gone/app'), 0);
        assert.equal(
          await a.downloadCounts.ofRepository('team/app'),
          1,
          'an indexed repository keeps its total',
        );
        assert.deepEqual(await a.uiSummaries.manifestInfo(D1), info);
        assert.equal(await a.uiSummaries.manifestInfo(D2), undefined);
        assert.equal(await a.imageFacts.get(D2), undefined);
        assert.equal(await b.registryIndex.purgeOrphans(), 0);
      }));

    it('ping answers while open and fails once closed', () =>
      withPair(async ({ a }) => {
        await a.ping();
        await a.close();
        await assert.rejects(a.ping());
      }));
  });
}
