/**
 * The extensions' records in the shared-store contract (`shared-store.contract.ts` runs these on
 * SQLite and on PostgreSQL): stars and bookmarks, download counts, image facts, CVE scans, API key
 * groups and user origins, each written through one store and read through the other, as two
 * replicas do — with the races the callers rely on (concurrent toggles and counts).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataStorePair } from './contract.js';
import type { StoredScan } from './cve-scans.js';

type WithPair = (fn: (pair: MetadataStorePair) => Promise<void>) => Promise<void>;

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

export function extensionRecordCases(withPair: WithPair): void {
  it('user prefs: a star toggled twice through two stores is off; counts are per repository across users', () =>
    withPair(async ({ a, b }) => {
      assert.equal(await a.userPrefs.toggle('ann', 'team/app', 'starred'), true);
      assert.deepEqual([...(await b.userPrefs.of('ann')).starred], ['team/app']);
      assert.equal(
        await b.userPrefs.toggle('ann', 'team/app', 'starred'),
        false,
        'the second toggle unstars',
      );
      assert.deepEqual((await a.userPrefs.of('ann')).starred.size, 0);
      assert.equal(await a.userPrefs.starCount('team/app'), 0);

      await a.userPrefs.toggle('ann', 'team/app', 'starred');
      await b.userPrefs.toggle('bob', 'team/app', 'starred');
      await b.userPrefs.toggle('bob', 'other', 'starred');
      await a.userPrefs.toggle('bob', 'team/app', 'bookmarked');
      assert.equal(await b.userPrefs.starCount('team/app'), 2);
      assert.deepEqual(
        await a.userPrefs.starCounts(),
        new Map([
          ['team/app', 2],
          ['other', 1],
        ]),
      );
      const bob = await a.userPrefs.of('bob');
      assert.deepEqual([...bob.starred].sort(), ['other', 'team/app']);
      assert.deepEqual([...bob.bookmarked], ['team/app'], 'a bookmark is a flag of its own');
      assert.equal(await b.userPrefs.toggle('bob', 'team/app', 'starred'), false);
      assert.deepEqual(
        [...(await b.userPrefs.of('bob')).bookmarked],
        ['team/app'],
        'unstarring keeps the bookmark',
      );
      assert.equal(await a.userPrefs.starCount('team/app'), 1);
      const anonymous = await a.userPrefs.of('');
      assert.equal(anonymous.starred.size + anonymous.bookmarked.size, 0);

      // Toggles at once through both stores: each is applied, none reads a stale flag.
      const flips = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).userPrefs.toggle('cy', 'race', 'starred')),
      );
      assert.equal(flips.filter((f) => f).length, 3, `three on, three off (${flips.join(',')})`);
      assert.equal(await a.userPrefs.starCount('race'), 0, 'an even number of flips ends unstarred');
    }));

  it('download counts: concurrent batches through both stores all add up; the latest pull time wins', () =>
    withPair(async ({ a, b }) => {
      assert.equal(await a.downloadCounts.ofManifest('r', d(1)), undefined);
      assert.equal(await a.downloadCounts.ofRepository('r'), 0);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? a : b).downloadCounts.record([
            { repo: 'r', digest: d(1), count: 1, lastPullAt: 1_000 + i },
            { repo: 'r', digest: d(2), count: 2, lastPullAt: 500 },
            { repo: 's', digest: d(1), count: 1, lastPullAt: 7 },
          ]),
        ),
      );
      assert.deepEqual(await b.downloadCounts.ofManifest('r', d(1)), { count: 20, lastPullAt: 1_019 });
      assert.deepEqual(await a.downloadCounts.ofManifest('r', d(2)), { count: 40, lastPullAt: 500 });
      assert.equal(await b.downloadCounts.ofRepository('r'), 60);
      // One batch may name a manifest twice.
      await a.downloadCounts.record([
        { repo: 's', digest: d(1), count: 1, lastPullAt: 3 },
        { repo: 's', digest: d(1), count: 2, lastPullAt: 9 },
      ]);
      assert.deepEqual(await b.downloadCounts.ofManifest('s', d(1)), { count: 23, lastPullAt: 9 });
      assert.deepEqual(
        await b.downloadCounts.perRepository(),
        new Map([
          ['r', 60],
          ['s', 23],
        ]),
      );
      await a.downloadCounts.record([]);
    }));

  it('image facts: a document round-trips through the other store and a later put replaces it', () =>
    withPair(async ({ a, b }) => {
      assert.equal(await b.imageFacts.get(d(1)), undefined);
      const facts = { v: 1, size: 42, platforms: [{ os: 'linux', architecture: 'amd64' }], note: 'é ✓' };
      await a.imageFacts.put(d(1), facts);
      assert.deepEqual(await b.imageFacts.get(d(1)), facts);
      await b.imageFacts.put(d(1), { v: 2, size: 43 });
      assert.deepEqual(await a.imageFacts.get(d(1)), { v: 2, size: 43 }, 'facts of a newer shape replace');
      assert.equal(await a.imageFacts.get(d(2)), undefined);
    }));

  it('CVE scans: inventories and scans as the scanner keeps them, stale by data version, totals, forget', () =>
    withPair(async ({ a, b }) => {
      const inventory = {
        distro: { id: 'alpine', version: '3.19' },
        packages: [{ name: 'musl', version: '1.2' }],
      };
      const vuln = (id: string, severity: string) => ({
        id,
        severity,
        summary: 'x'.repeat(300),
        packages: ['musl'],
      });
      assert.equal(await b.cveScans.inventory(d(1)), undefined);
      await a.cveScans.putInventory(d(1), inventory);
      await a.cveScans.putInventory(d(2), { distro: null, packages: [] });
      assert.deepEqual(await b.cveScans.inventory(d(1)), inventory);
      assert.deepEqual(await b.cveScans.staleDigests('v1', 10), [d(1), d(2)], 'never scanned: stale');
      assert.deepEqual(await b.cveScans.staleDigests('v1', 1), [d(1)], 'a page at a time');

      const scan: StoredScan<unknown> = {
        digest: d(1),
        dataVersion: 'v1',
        scannedAt: 1_700_000_000_000,
        counts: { critical: 1, high: 2, medium: 0, low: 0, unknown: 0 },
        vulnerabilities: [vuln('CVE-1', 'CRITICAL'), vuln('CVE-2', 'HIGH'), vuln('CVE-3', 'HIGH')],
      };
      await a.cveScans.putScan(scan);
      assert.deepEqual(await b.cveScans.scan(d(1)), scan, 'a scan made by one replica is read by the other');
      const { vulnerabilities: _, ...counts } = scan;
      assert.deepEqual(await b.cveScans.counts(d(1)), counts);
      assert.equal(await b.cveScans.counts(d(2)), undefined);
      assert.deepEqual(await a.cveScans.staleDigests('v1', 10), [d(2)], 'scanned with this data: not stale');
      assert.deepEqual(await a.cveScans.staleDigests('v2', 10), [d(1), d(2)], 'new data: stale again');

      await b.cveScans.putScan({
        digest: d(2),
        dataVersion: 'v1',
        scannedAt: 1,
        counts: { critical: 0, high: 1, medium: 3, low: 4, unknown: 5 },
        vulnerabilities: [],
      });
      assert.deepEqual(await a.cveScans.totals(), { critical: 1, high: 3, medium: 3, low: 4, unknown: 5 });
      const rescan = {
        ...scan,
        dataVersion: 'v2',
        counts: { ...scan.counts, high: 0 },
        vulnerabilities: [vuln('CVE-1', 'CRITICAL')],
      };
      await b.cveScans.putScan(rescan);
      assert.deepEqual(await a.cveScans.scan(d(1)), rescan, 'a rescan replaces the scan');

      await a.cveScans.forget(d(1));
      assert.equal(await b.cveScans.inventory(d(1)), undefined);
      assert.equal(await b.cveScans.scan(d(1)), undefined);
      assert.deepEqual(await b.cveScans.totals(), { critical: 0, high: 1, medium: 3, low: 4, unknown: 5 });
      await b.cveScans.forget(d(2));
      assert.deepEqual(await a.cveScans.totals(), { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 });
    }));

  it('API key groups: a service key created through one store carries its groups on the other; revoke removes both', () =>
    withPair(async ({ a, b }) => {
      const now = new Date('2026-03-01T00:00:00Z');
      const expiresAt = new Date('2026-06-01T00:00:00Z');
      const own = await a.apiKeys.create({
        owner: 'ann',
        label: 'laptop',
        scopes: null,
        creatorUa: 'ua',
        expiresAt: undefined,
        now,
      });
      const later = new Date(now.getTime() + 1_000);
      const ci = await a.apiKeys.create({
        owner: 'zot-ci',
        label: 'ci',
        scopes: null,
        creatorUa: 'cli',
        expiresAt,
        now: later,
      });
      await a.apiKeyGroups.grant(ci.record.id, ['deployers', 'readers', 'deployers'], 'cli');
      assert.deepEqual(
        await b.apiKeyGroups.groupsOf(ci.record.id),
        ['deployers', 'readers'],
        'duplicates dropped',
      );
      assert.deepEqual(await b.apiKeyGroups.groupsOf(own.record.id), [], 'a key its owner made has no grant');

      const all = await b.apiKeyGroups.list();
      assert.deepEqual(
        all.map((k) => [
          k.id,
          k.owner,
          k.label,
          k.groups,
          k.createdBy,
          k.createdAt.getTime(),
          k.expiresAt?.getTime(),
        ]),
        [
          [own.record.id, 'ann', 'laptop', [], undefined, now.getTime(), undefined],
          [
            ci.record.id,
            'zot-ci',
            'ci',
            ['deployers', 'readers'],
            'cli',
            later.getTime(),
            expiresAt.getTime(),
          ],
        ],
        'oldest first',
      );
      assert.deepEqual(
        (await a.apiKeyGroups.list('zot-ci')).map((k) => k.id),
        [ci.record.id],
      );
      assert.equal((await b.apiKeys.findByKey(ci.key))?.id, ci.record.id, 'the key works on the other store');

      assert.deepEqual(await b.apiKeyGroups.revoke(ci.record.id), { owner: 'zot-ci', label: 'ci' });
      assert.equal(await a.apiKeys.findByKey(ci.key), undefined, 'a revoked key stops working everywhere');
      assert.deepEqual(await a.apiKeyGroups.groupsOf(ci.record.id), []);
      assert.equal(await a.apiKeyGroups.revoke(ci.record.id), undefined, 'revoking twice finds nothing');
      assert.deepEqual(
        (await a.apiKeyGroups.list()).map((k) => k.id),
        [own.record.id],
      );
    }));

  it('user origins: the last sign-in wins whichever store recorded it, also back to an origin recorded before', () =>
    withPair(async ({ a, b }) => {
      const at = new Date('2026-03-01T00:00:00Z');
      assert.equal(await a.userOrigins.originOf('ann'), undefined);
      await a.userOrigins.record('ann', 'htpasswd', at);
      assert.equal(await b.userOrigins.originOf('ann'), 'htpasswd');
      await b.userOrigins.record('ann', 'oidc:github', at);
      assert.equal(await a.userOrigins.originOf('ann'), 'oidc:github');
      // The store that recorded htpasswd before must not skip this write as already done.
      await a.userOrigins.record('ann', 'htpasswd', at);
      assert.equal(await b.userOrigins.originOf('ann'), 'htpasswd');
      await a.userOrigins.record('ann', 'htpasswd', at);
      assert.equal(await b.userOrigins.originOf('bob'), undefined);
    }));
}
