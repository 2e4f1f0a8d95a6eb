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

    it('registry index: replaceRepository swaps everything known about one repository at once', () =>
      withPair(async ({ a, b }) => {
        await a.registryIndex.recordManifest(manifest('r', D1), ['old'], 's1');
        await b.registryIndex.replaceRepository(
          'r',
          's2',
          [manifest('r', D2)],
          [{ tag: 'new', digest: D2, pushedAt: 5 }],
          [{ digest: LAYER, size: 7 }],
        );
        assert.equal(await a.registryIndex.resolveTag('r', 'old'), undefined);
        assert.equal((await a.registryIndex.resolveTag('r', 'new'))?.digest, D2);
        assert.deepEqual(await a.registryIndex.allStamps(), new Map([['r', 's2']]));
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
        await a.recentBlobs.record('r', LAYER, 100);
        assert.equal(await b.recentBlobs.storedAt('r', LAYER), 100);
        await b.recentBlobs.purge(101);
        assert.equal(await a.recentBlobs.storedAt('r', LAYER), undefined);
      }));

    it('ping answers while open and fails once closed', () =>
      withPair(async ({ a }) => {
        await a.ping();
        await a.close();
        await assert.rejects(a.ping());
      }));
  });
}
