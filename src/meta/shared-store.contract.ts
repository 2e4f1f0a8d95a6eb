/**
 * More of the MetadataStore contract (beside `contract.ts`): what two stores on one fresh database
 * must also agree on — byte-order catalog pages, tags moved and removed, blob sizes, whole
 * repositories replaced and deleted, a sign-in state taken by two callbacks at once, the UI
 * summaries of one store following writes through the other, and throttle buckets filled through
 * both (the last unit of a bucket goes to exactly one of two racing stores), and the extensions'
 * records (`extension-records.contract.ts`), and the account records' export and restore
 * (`account-records.contract.ts`). SQLite runs it on two handles of one
 * file (`sqlite/shared-store.test.ts`), PostgreSQL on two pools of one database
 * (`postgres/store.test.ts`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManifestRecord } from './registry-index.js';
import type { MetadataStorePair } from './contract.js';
import { accountRecordCases } from './account-records.contract.js';
import { extensionRecordCases } from './extension-records.contract.js';

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

function manifest(repo: string, digest: string, extra: Partial<ManifestRecord> = {}): ManifestRecord {
  return {
    repo,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 500,
    artifactType: null,
    subject: null,
    annotations: null,
    pushedAt: 1_000,
    references: [],
    ...extra,
  };
}

export function describeSharedStoreContract(name: string, fresh: () => Promise<MetadataStorePair>): void {
  describe(`metadata store, shared: ${name}`, () => {
    const withPair = async (fn: (pair: MetadataStorePair) => Promise<void>): Promise<void> => {
      const pair = await fresh();
      try {
        await fn(pair);
      } finally {
        await pair.close();
      }
    };

    it('a manifest recorded through one store is read through the other: catalog, tags, references, referrers', () =>
      withPair(async ({ a, b }) => {
        const image = manifest('team/app', d(1), {
          annotations: { 'org.example': 'x' },
          references: [d(10), d(11)],
          size: 712,
          pushedAt: 5_000,
        });
        await a.registryIndex.recordManifest(image, ['v1', 'latest', 'v1'], 'stamp-1');
        const sbom = manifest('team/app', d(2), {
          subject: d(1),
          artifactType: 'application/spdx+json',
          pushedAt: 6_000,
        });
        await a.registryIndex.recordManifest(sbom, [], 'stamp-2');
        await a.registryIndex.recordManifest(manifest('team/Zed', d(3)), ['t'], 's');
        await a.registryIndex.recordManifest(manifest('alpha', d(4)), ['t'], 's');

        assert.equal(await b.registryIndex.repositoryExists('team/app'), true);
        assert.equal(await b.registryIndex.repositoryExists('nope'), false);
        assert.equal(await b.registryIndex.stamp('team/app'), 'stamp-2');
        assert.deepEqual(
          await b.registryIndex.catalog('', 10),
          ['alpha', 'team/Zed', 'team/app'],
          'byte order',
        );
        assert.deepEqual(await b.registryIndex.catalog('alpha', 1), ['team/Zed']);
        assert.deepEqual(
          (await b.registryIndex.tags('team/app')).map((t) => [t.tag, t.digest, t.pushedAt]),
          [
            ['latest', d(1), 5_000],
            ['v1', d(1), 5_000],
          ],
        );
        assert.deepEqual(await b.registryIndex.tagsPage('team/app', 'latest', 5), ['v1']);
        assert.deepEqual(await b.registryIndex.tagsForDigest('team/app', d(1)), ['latest', 'v1']);
        const resolved = await b.registryIndex.resolveTag('team/app', 'v1');
        assert.equal(resolved?.digest, d(1));
        assert.deepEqual(resolved?.annotations, { 'org.example': 'x' });
        assert.equal(resolved?.size, 712);
        assert.equal(await b.registryIndex.resolveTag('team/app', 'v9'), undefined);
        const full = await b.registryIndex.manifest('team/app', d(1));
        assert.deepEqual([...(full?.references ?? [])].sort(), [d(10), d(11)]);
        assert.deepEqual(await b.registryIndex.referencedBy('team/app', d(10)), [d(1)]);
        const referrers = await b.registryIndex.referrers('team/app', d(1));
        assert.deepEqual(
          referrers.map((r) => [r.digest, r.artifactType, r.subject]),
          [[d(2), 'application/spdx+json', d(1)]],
        );
        assert.equal((await b.registryIndex.manifests('team/app')).length, 2);
        assert.deepEqual(
          await b.registryIndex.allStamps(),
          new Map([
            ['team/app', 'stamp-2'],
            ['team/Zed', 's'],
            ['alpha', 's'],
          ]),
        );
      }));

    it('moving a tag, removing a tag and removing a manifest show on the other store', () =>
      withPair(async ({ a, b }) => {
        await a.registryIndex.recordManifest(manifest('r', d(1)), ['v1', 'v2'], 's1');
        await a.registryIndex.addBlob('r', d(1), 500);
        await b.registryIndex.recordManifest(manifest('r', d(2), { pushedAt: 2_000 }), ['v2'], 's2');
        assert.equal((await a.registryIndex.resolveTag('r', 'v2'))?.digest, d(2));
        await a.registryIndex.removeTag('r', 'v2', 's3');
        assert.deepEqual(await b.registryIndex.tagsPage('r', '', 10), ['v1']);
        assert.equal(await b.registryIndex.stamp('r'), 's3');
        await b.registryIndex.removeManifest('r', d(1), 's4');
        assert.deepEqual(await a.registryIndex.tags('r'), []);
        assert.equal(await a.registryIndex.manifest('r', d(1)), undefined);
        assert.deepEqual(
          await a.registryIndex.blobHolders(d(1)),
          [],
          "the manifest's own blob membership goes too",
        );
        assert.deepEqual(await a.registryIndex.catalog('', 10), ['r'], 'r still holds a manifest');
      }));

    it('catalog pages and tags read again and again follow every write, through either store', () =>
      withPair(async ({ a, b }) => {
        // Each read is repeated before and after every write: an answer kept from an earlier read
        // (SQLite keeps hot ones while the database is unchanged) must never outlive a change.
        const page = async (): Promise<string[]> => {
          const first = await a.registryIndex.catalog('', 2);
          assert.deepEqual(await a.registryIndex.catalog('', 2), first);
          return first;
        };
        const tag = async (repo: string, name: string): Promise<string | undefined> => {
          const first = (await a.registryIndex.resolveTag(repo, name))?.digest;
          assert.equal((await a.registryIndex.resolveTag(repo, name))?.digest, first);
          return first;
        };
        assert.deepEqual(await page(), []);
        assert.equal(await tag('r1', 'v1'), undefined);
        await b.registryIndex.recordManifest(manifest('r1', d(1)), ['v1'], 's1');
        assert.deepEqual(await page(), ['r1'], 'a repository pushed through the other store');
        assert.equal(await tag('r1', 'v1'), d(1), 'a tag pushed through the other store');
        await a.registryIndex.recordManifest(manifest('r0', d(2)), ['v1'], 's2');
        assert.deepEqual(await page(), ['r0', 'r1'], 'a repository pushed through this store');
        await b.registryIndex.recordManifest(manifest('r1', d(3)), ['v1'], 's3');
        assert.equal(await tag('r1', 'v1'), d(3), 'a tag moved through the other store');
        await a.registryIndex.removeTag('r1', 'v1', 's4');
        assert.equal(await tag('r1', 'v1'), undefined, 'a tag removed through this store');
        await b.registryIndex.deleteRepository('r0');
        assert.deepEqual(await page(), ['r1'], 'a repository deleted through the other store');
        const record = await a.registryIndex.resolveTag('r0', 'v1');
        assert.equal(record, undefined);
        await b.registryIndex.recordManifest(manifest('r2', d(4), { annotations: { k: 'v' } }), ['t'], 's5');
        const copy = await a.registryIndex.resolveTag('r2', 't');
        assert.ok(copy);
        copy.digest = 'changed by one caller';
        assert.equal(
          (await a.registryIndex.resolveTag('r2', 't'))?.digest,
          d(4),
          'callers get their own copy',
        );
      }));

    it('blob membership, sizes, replacing and deleting a repository', () =>
      withPair(async ({ a, b }) => {
        await a.registryIndex.addBlob('x', d(7), 100);
        await a.registryIndex.addBlob('x', d(7), 100);
        await a.registryIndex.addBlob('y', d(7), 100);
        await a.registryIndex.addBlob('y', d(8), 20);
        assert.deepEqual(await b.registryIndex.blobHolders(d(7)), ['x', 'y']);
        const sizes = (await b.registryIndex.repositorySizes()).sort((p, q) => p.repo.localeCompare(q.repo));
        assert.deepEqual(sizes, [
          { repo: 'x', bytes: 100 },
          { repo: 'y', bytes: 120 },
        ]);
        assert.equal(await b.registryIndex.blobSize('y', d(8)), 20);
        assert.equal(await b.registryIndex.blobSize('z', d(7)), undefined);
        await b.registryIndex.removeBlob('y', d(7));
        assert.deepEqual(await a.registryIndex.blobHolders(d(7)), ['x']);
        assert.equal(await a.registryIndex.blobSize('y', d(7)), undefined);
        await a.registryIndex.addBlob('x', d(3), 30);
        assert.deepEqual(await b.registryIndex.repositoryBlobs('x'), [
          { digest: d(3), size: 30 },
          { digest: d(7), size: 100 },
        ]);
        await a.registryIndex.removeBlob('x', d(3));

        await a.registryIndex.recordManifest(manifest('x', d(1)), ['old'], 's1');
        await b.registryIndex.replaceRepositories([
          {
            repo: 'x',
            stamp: 'rebuilt',
            manifests: [manifest('x', d(2), { references: [d(9)] }), manifest('x', d(3))],
            tags: [
              { tag: 'a', digest: d(2), pushedAt: 10 },
              { tag: 'b', digest: d(3), pushedAt: 20 },
            ],
            blobs: [{ digest: d(9), size: 9 }],
          },
        ]);
        assert.deepEqual(
          (await a.registryIndex.tags('x')).map((t) => t.tag),
          ['a', 'b'],
        );
        assert.equal(await a.registryIndex.manifest('x', d(1)), undefined);
        assert.deepEqual(await a.registryIndex.referencedBy('x', d(9)), [d(2)]);
        assert.deepEqual(await a.registryIndex.blobHolders(d(7)), [], 'replaced blob membership');
        assert.deepEqual(await a.registryIndex.blobHolders(d(9)), ['x']);
        assert.equal(await a.registryIndex.stamp('x'), 'rebuilt');
        await a.registryIndex.deleteRepository('x');
        assert.equal(await b.registryIndex.repositoryExists('x'), false);
        assert.deepEqual(await b.registryIndex.blobHolders(d(9)), []);
        assert.deepEqual(await b.registryIndex.catalog('', 10), []);
      }));

    it('of two callbacks taking one sign-in state at once, exactly one gets it', () =>
      withPair(async ({ a, b }) => {
        const now = new Date('2026-01-01T00:00:00Z');
        const login = { provider: 'oidc', codeVerifier: 'v', nonce: 'n', callback: '/home' };
        await a.signIns.save('state-1', login, new Date(now.getTime() + 1000), now);
        const taken = await Promise.all([b.signIns.take('state-1', now), a.signIns.take('state-1', now)]);
        assert.deepEqual(
          taken.filter((t) => t !== undefined),
          [login],
          'exactly one of two concurrent callbacks gets the state',
        );
        await b.signIns.save('state-2', login, new Date(now.getTime() + 1000), now);
        assert.equal(await a.signIns.take('state-2', new Date(now.getTime() + 1000)), undefined, 'expired');
      }));

    it('UI summaries: a push through one store shows in the other at its next request', () =>
      withPair(async ({ a, b }) => {
        await b.uiSummaries.ensureFresh();
        assert.deepEqual(await b.uiSummaries.orderedNames('name', 'asc'), []);
        const before = b.uiSummaries.generation;
        await a.registryIndex.addBlob('team/app', d(20), 1_000);
        await a.registryIndex.addBlob('team/app', d(1), 500);
        await a.registryIndex.recordManifest(manifest('team/app', d(1), { pushedAt: 7_000 }), ['v1'], 's1');
        a.uiSummaries.invalidate('team/app');
        await b.uiSummaries.ensureFresh();
        assert.notEqual(b.uiSummaries.generation, before, 'caches built on the summaries are invalidated');
        assert.deepEqual(await b.uiSummaries.repositoryNames('APP', 'name', 'asc'), ['team/app']);
        assert.deepEqual(await b.uiSummaries.summary('team/app'), {
          name: 'team/app',
          tagCount: 1,
          size: 1_500,
          updatedAt: 7_000,
          newestTag: 'v1',
          newestDigest: d(1),
        });
        await b.registryIndex.recordManifest(manifest('small', d(2), { pushedAt: 9_000 }), ['b', 'a%'], 's1');
        await a.uiSummaries.ensureFresh();
        assert.deepEqual(await a.uiSummaries.orderedNames('updated', 'desc'), ['small', 'team/app']);
        assert.deepEqual(await a.uiSummaries.orderedNames('size', 'desc'), ['team/app', 'small']);
        assert.deepEqual(await a.uiSummaries.staleRepositories(), []);
        const rows = await a.uiSummaries.tags('small', '%', 'name');
        assert.deepEqual(
          rows.map((r) => [r.tag, r.digest, r.manifestSize, r.mediaType, r.artifactType, r.pushedAt]),
          [['a%', d(2), 500, 'application/vnd.oci.image.manifest.v1+json', null, 9_000]],
          'the filter is literal text',
        );
        assert.equal(await a.uiSummaries.tagCount('small'), 2);
        assert.deepEqual(
          (await b.uiSummaries.tags('small', '', 'name', { offset: 1, limit: 5 })).map((r) => r.tag),
          ['b'],
          'one window of the sorted tags',
        );
        assert.equal(await b.uiSummaries.tagMatches('small', ''), 2);
        assert.equal(await b.uiSummaries.tagMatches('small', '%'), 1);
        await a.registryIndex.deleteRepository('small');
        await b.uiSummaries.ensureFresh();
        assert.deepEqual(await b.uiSummaries.orderedNames('name', 'asc'), ['team/app']);
        assert.equal(await b.uiSummaries.summary('small'), undefined);

        const info = { imageSize: 4_321, platforms: [{ os: 'linux', architecture: 'arm64', variant: 'v8' }] };
        await a.uiSummaries.saveManifestInfo(d(1), info);
        assert.deepEqual(await b.uiSummaries.manifestInfo(d(1)), info);
        assert.equal(await b.uiSummaries.manifestInfo(d(2)), undefined);
      }));
    it('throttle buckets: units taken through either store fill one bucket; racing stores never overfill it', () =>
      withPair(async ({ a, b }) => {
        const rule = { capacity: 4, drainPerMs: 4 / 60_000 };
        const t0 = 1_000_000;
        assert.equal(await a.throttles.take('k', rule, t0), 0);
        assert.equal(await b.throttles.take('k', rule, t0), 0);
        assert.equal(await a.throttles.take('k', rule, t0), 0);
        assert.equal(await b.throttles.take('k', rule, t0), 0);
        const near = (ms: number, expected: number): boolean => Math.abs(ms - expected) <= 1;
        const wait = await a.throttles.take('k', rule, t0);
        assert.ok(near(wait, 15_000), `full: one unit drains in window / capacity (${wait})`);
        const later = await b.throttles.take('k', rule, t0 + 5_000);
        assert.ok(near(later, 10_000), `and the other store agrees (${later})`);
        assert.equal(await b.throttles.take('other', rule, t0), 0, 'buckets are per key');
        assert.equal(await a.throttles.take('k', rule, t0 + 15_001), 0, 'one unit drained, one taken');
        assert.ok((await b.throttles.take('k', rule, t0 + 15_001)) > 0);
        // An attempt that turned out not to count is given back through the other store.
        await b.throttles.giveBack('k', rule, t0 + 15_001);
        assert.equal(await a.throttles.take('k', rule, t0 + 15_001), 0);
        // A clock behind the stored one drains nothing and never adds room.
        assert.ok((await a.throttles.take('k', rule, t0)) > 0, 'an earlier clock gets no room');
        await a.throttles.clear('k');
        assert.equal(await b.throttles.take('k', rule, t0 + 15_001), 0, 'cleared');

        // Many attempts at once through both stores: exactly `capacity` succeed.
        const attempts = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).throttles.take('race', rule, t0)),
        );
        assert.equal(attempts.filter((w) => w === 0).length, 4);

        // Drained buckets are purged; a bucket still holding units is kept.
        assert.equal(await a.throttles.purgeEmpty(t0 + 10_000), 0, 'nothing has drained yet');
        await a.throttles.take('late', rule, t0 + 120_000);
        assert.ok((await b.throttles.purgeEmpty(t0 + 60_001 + 15_000)) >= 2, 'k, other and race drained');
        assert.equal(await b.throttles.take('late', rule, t0 + 120_000), 0, 'late kept its unit');
        assert.equal(await a.throttles.take('late', rule, t0 + 120_000), 0);
        assert.equal(await a.throttles.take('late', rule, t0 + 120_000), 0);
        assert.ok((await a.throttles.take('late', rule, t0 + 120_000)) > 0, 'late holds 4');
      }));

    extensionRecordCases(withPair);
    accountRecordCases(withPair);
  });
}
