/**
 * The account records' export and restore (`berth migrate` carries API keys, their grants, users,
 * user origins, stars and bookmarks, download counts from one store to another) in the
 * shared-store contract (`shared-store.contract.ts` runs these on SQLite and on PostgreSQL):
 * what one store exports, the other restores; a restore is idempotent (a resumed migration writes
 * the same rows again and counts none), and what is newer in the target is kept.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataStorePair } from './contract.js';

type WithPair = (fn: (pair: MetadataStorePair) => Promise<void>) => Promise<void>;

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

export function accountRecordCases(withPair: WithPair): void {
  it('API keys: exported with their hashes; a restored key is found by its secret again, with every field; restoring twice writes nothing', () =>
    withPair(async ({ a, b }) => {
      const created = await a.apiKeys.create({
        owner: 'zot-ci',
        label: 'ci',
        scopes: ['repo:read'],
        creatorUa: 'berth-cli',
        expiresAt: new Date(9_000_000_000_000),
        now: new Date(1_000),
      });
      const plain = await a.apiKeys.create({
        owner: 'ann',
        label: '',
        scopes: null,
        creatorUa: 'ua',
        expiresAt: undefined,
        now: new Date(2_000),
      });
      await a.apiKeys.recordUse(created.record.id, new Date(5_000));
      const exported = await b.apiKeys.exportAll();
      assert.deepEqual(
        exported.map((k) => k.id),
        [created.record.id, plain.record.id],
        'oldest first',
      );
      assert.ok(
        exported.every((k) => /^[0-9a-f]{64}$/.test(k.hash)),
        'hashes, never keys',
      );
      assert.ok(!JSON.stringify(exported).includes(created.key), 'the secret is not exported');

      // A migration's target: the keys are not there yet.
      assert.equal(await a.apiKeys.revoke('zot-ci', created.record.id), true);
      assert.equal(await a.apiKeys.revoke('ann', plain.record.id), true);
      assert.equal(await b.apiKeys.restore(exported), 2);
      const found = await a.apiKeys.findByKey(created.key);
      assert.deepEqual(found, { ...created.record, lastUsedAt: new Date(5_000) }, 'every field as it was');
      assert.deepEqual(await a.apiKeys.findByKey(plain.key), plain.record);
      assert.equal(await a.apiKeys.restore(exported), 0, 'a second restore finds them there');

      // A use in the target after the copy is not undone by a later run; a changed field is written.
      await b.apiKeys.recordUse(plain.record.id, new Date(7_000));
      assert.equal(await a.apiKeys.restore(exported), 0);
      assert.deepEqual((await b.apiKeys.findById(plain.record.id))?.lastUsedAt, new Date(7_000));
      assert.equal(await a.apiKeys.restore([{ ...exported[1]!, label: 'renamed' }]), 1);
      assert.equal((await b.apiKeys.findById(plain.record.id))?.label, 'renamed');
      assert.deepEqual((await b.apiKeys.findById(plain.record.id))?.lastUsedAt, new Date(7_000));
      assert.equal(await a.apiKeys.restore([]), 0);
    }));

  it("API key groups: a service-account key's grant is restored beside its key; twice writes nothing", () =>
    withPair(async ({ a, b }) => {
      const { record } = await a.apiKeys.create({
        owner: 'zot-ci',
        label: 'ci',
        scopes: null,
        creatorUa: 'berth-cli',
        expiresAt: undefined,
        now: new Date(1_000),
      });
      await a.apiKeyGroups.grant(record.id, ['artifact-workloads', 'dev'], 'cli');
      const keys = await b.apiKeys.exportAll();
      const grants = await b.apiKeyGroups.exportAll();
      assert.deepEqual(grants, [
        { keyId: record.id, groups: ['artifact-workloads', 'dev'], createdBy: 'cli' },
      ]);
      assert.deepEqual(await a.apiKeyGroups.revoke(record.id), { owner: 'zot-ci', label: 'ci' });
      assert.deepEqual(await b.apiKeyGroups.list(), []);

      assert.equal(await b.apiKeys.restore(keys), 1);
      assert.equal(await b.apiKeyGroups.restore(grants), 1);
      const [listed] = await a.apiKeyGroups.list('zot-ci');
      assert.deepEqual(listed?.groups, ['artifact-workloads', 'dev']);
      assert.equal(listed?.createdBy, 'cli');
      assert.equal(await a.apiKeyGroups.restore(grants), 0);
      assert.equal(await a.apiKeyGroups.restore([{ ...grants[0]!, groups: ['dev'] }]), 1);
      assert.deepEqual(await b.apiKeyGroups.groupsOf(record.id), ['dev']);
    }));

  it('users and user origins: restored when missing or older in the target; a later sign-in in the target is kept', () =>
    withPair(async ({ a, b }) => {
      await a.users.recordSignIn('ann', ['dev', 'ops'], new Date(1_000));
      await a.users.recordSignIn('bob', [], new Date(1_500));
      await a.userOrigins.record('ann', 'oidc:corp', new Date(1_000));
      await a.userOrigins.record('bob', 'htpasswd', new Date(1_500));
      const users = await b.users.exportAll();
      const origins = await b.userOrigins.exportAll();
      assert.deepEqual(users, [
        { username: 'ann', groups: ['dev', 'ops'], signedInAt: new Date(1_000) },
        { username: 'bob', groups: [], signedInAt: new Date(1_500) },
      ]);
      assert.deepEqual(origins, [
        { username: 'ann', origin: 'oidc:corp', recordedAt: new Date(1_000) },
        { username: 'bob', origin: 'htpasswd', recordedAt: new Date(1_500) },
      ]);
      assert.equal(await b.users.restore(users), 0, 'the same records: nothing to write');
      assert.equal(await b.userOrigins.restore(origins), 0);

      // Elsewhere (a target): cy is new; ann signed in there later, with other groups.
      const moved = users.map((u) => ({ ...u, username: u.username === 'bob' ? 'cy' : u.username }));
      await a.users.recordSignIn('ann', ['ops'], new Date(9_000));
      await a.userOrigins.record('ann', 'htpasswd', new Date(9_000));
      assert.equal(await b.users.restore(moved), 1);
      assert.deepEqual(await a.users.groupsOf('cy'), []);
      assert.deepEqual(await a.users.groupsOf('ann'), ['ops'], 'the later sign-in is kept');
      assert.equal(
        await b.userOrigins.restore(origins.map((o) => ({ ...o, username: `${o.username}2` }))),
        2,
      );
      assert.equal(await b.userOrigins.restore(origins), 0);
      assert.equal(await a.userOrigins.originOf('ann'), 'htpasswd', 'the later origin is kept');
      assert.equal(await a.userOrigins.originOf('ann2'), 'oidc:corp');

      // A newer record from the source wins.
      assert.equal(
        await a.users.restore([{ username: 'ann', groups: ['x'], signedInAt: new Date(10_000) }]),
        1,
      );
      assert.deepEqual(await b.users.groupsOf('ann'), ['x']);
      assert.equal(
        await a.userOrigins.restore([{ username: 'ann', origin: 'oidc:corp', recordedAt: new Date(10_000) }]),
        1,
      );
      assert.equal(await b.userOrigins.originOf('ann'), 'oidc:corp');
    }));

  it('stars and bookmarks: restored with their flags and counted again; restoring twice writes nothing', () =>
    withPair(async ({ a, b }) => {
      await a.userPrefs.toggle('ann', 'team/app', 'starred');
      await a.userPrefs.toggle('ann', 'team/app', 'bookmarked');
      await a.userPrefs.toggle('bob', 'team/app', 'starred');
      await a.userPrefs.toggle('bob', 'base', 'bookmarked');
      const rows = await b.userPrefs.exportAll();
      assert.deepEqual(rows, [
        { username: 'ann', repo: 'team/app', starred: true, bookmarked: true },
        { username: 'bob', repo: 'base', starred: false, bookmarked: true },
        { username: 'bob', repo: 'team/app', starred: true, bookmarked: false },
      ]);
      for (const [user, repo, flag] of [
        ['ann', 'team/app', 'starred'],
        ['ann', 'team/app', 'bookmarked'],
        ['bob', 'team/app', 'starred'],
        ['bob', 'base', 'bookmarked'],
      ] as const)
        await b.userPrefs.toggle(user, repo, flag);
      assert.deepEqual(await a.userPrefs.exportAll(), []);

      assert.equal(await b.userPrefs.restore(rows), 3);
      assert.equal(await a.userPrefs.starCount('team/app'), 2);
      assert.deepEqual([...(await a.userPrefs.of('bob')).bookmarked], ['base']);
      assert.equal(await a.userPrefs.restore(rows), 0);
      assert.equal(await a.userPrefs.restore([{ ...rows[2]!, starred: false, bookmarked: true }]), 1);
      assert.equal(await b.userPrefs.starCount('team/app'), 1, 'the source wins');
      assert.equal(
        await b.userPrefs.toggle('bob', 'team/app', 'bookmarked'),
        false,
        'a restored flag toggles',
      );
    }));

  it('download counts: restored as the larger of the two counts, never added: a second restore counts nothing twice', () =>
    withPair(async ({ a, b }) => {
      await a.downloadCounts.record([
        { repo: 'r', digest: d(1), count: 3, lastPullAt: 1_000 },
        { repo: 's', digest: d(2), count: 1, lastPullAt: 2_000 },
      ]);
      const rows = await b.downloadCounts.exportAll();
      assert.deepEqual(rows, {
        manifests: [
          { repo: 'r', digest: d(1), count: 3, lastPullAt: 1_000 },
          { repo: 's', digest: d(2), count: 1, lastPullAt: 2_000 },
        ],
        repositories: [
          { repo: 'r', count: 3 },
          { repo: 's', count: 1 },
        ],
      });
      assert.equal(await b.downloadCounts.restore(rows), 0);
      assert.equal(await a.downloadCounts.ofRepository('r'), 3, 'not added');

      const more = {
        manifests: [{ repo: 'r', digest: d(1), count: 10, lastPullAt: 500 }, ...rows.manifests.slice(1)],
        repositories: [
          { repo: 'r', count: 12 },
          { repo: 'new', count: 4 },
        ],
      };
      assert.equal(await b.downloadCounts.restore(more), 3);
      assert.deepEqual(await a.downloadCounts.ofManifest('r', d(1)), { count: 10, lastPullAt: 1_000 });
      assert.equal(await a.downloadCounts.ofRepository('r'), 12);
      assert.equal(await a.downloadCounts.ofRepository('new'), 4);
      assert.equal(await a.downloadCounts.restore(more), 0);
      assert.equal(await a.downloadCounts.restore({ manifests: [], repositories: [] }), 0);
    }));
}
