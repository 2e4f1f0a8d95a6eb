import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../meta/sqlite/store.js';
import type { MetadataStore } from '../meta/store.js';
import {
  accountLines,
  copyAccounts,
  emptyAccountsReport,
  emptyCounts,
  type AccountsObserver,
} from './migrate-accounts.js';

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

describe('copyAccounts (two real SQLite stores)', () => {
  let dir: string;
  let source: MetadataStore;
  let target: MetadataStore;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-migrate-accounts-'));
    source = openSqliteStore(path.join(dir, 'source.db')).meta;
    target = openSqliteStore(path.join(dir, 'target.db')).meta;
  });
  after(async () => {
    await source.close();
    await target.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts on a dry run, copies, finds everything there on a second run, and names keys only the target holds', async () => {
    const now = new Date(1_000);
    const ci = await source.apiKeys.create({
      owner: 'zot-ci',
      label: 'ci',
      scopes: null,
      creatorUa: 'cli',
      expiresAt: undefined,
      now,
    });
    await source.apiKeyGroups.grant(ci.record.id, ['artifact-workloads'], 'cli');
    // More than one batch of 500, so that progress and counts add up over batches.
    for (let i = 0; i < 520; i++) await source.userPrefs.toggle(`user-${i}`, 'team/app', 'starred');
    await source.users.recordSignIn('ann', ['dev'], now);
    await source.userOrigins.record('ann', 'htpasswd', now);
    await source.downloadCounts.record([{ repo: 'team/app', digest: d(1), count: 5, lastPullAt: 2_000 }]);

    const dry = await copyAccounts(source, target, { dryRun: true });
    assert.deepEqual(dry.inSource, {
      users: 1,
      userOrigins: 1,
      apiKeys: 1,
      keyGroups: 1,
      userPrefs: 520,
      downloadCounts: 2,
    });
    assert.deepEqual(dry.copied, emptyCounts());
    assert.deepEqual(await target.apiKeys.exportAll(), [], 'a dry run writes nothing');

    let total = 0;
    let done = 0;
    const observer: AccountsObserver = { start: (n) => (total = n), done: (n) => (done += n) };
    const first = await copyAccounts(source, target, { dryRun: false, observer });
    assert.deepEqual(first.copied, first.inSource);
    assert.deepEqual(first.alreadyPresent, emptyCounts());
    assert.equal(total, 526);
    assert.equal(done, 526, 'progress reaches the total');
    assert.equal(
      (await target.apiKeys.findByKey(ci.key))?.owner,
      'zot-ci',
      'the same key works in the target',
    );
    assert.deepEqual(await target.apiKeyGroups.groupsOf(ci.record.id), ['artifact-workloads']);
    assert.equal(await target.userPrefs.starCount('team/app'), 520);
    assert.equal(await target.downloadCounts.ofRepository('team/app'), 5);

    const second = await copyAccounts(source, target, { dryRun: false });
    assert.deepEqual(second.copied, emptyCounts());
    assert.deepEqual(second.alreadyPresent, second.inSource);
    assert.equal(await target.downloadCounts.ofRepository('team/app'), 5, 'counted once');
    assert.deepEqual(second.onlyInTarget, []);

    // Revoked in the source after a run: kept in the target, and said so.
    assert.equal(await source.apiKeys.revoke('zot-ci', ci.record.id), true);
    const third = await copyAccounts(source, target, { dryRun: false });
    assert.deepEqual(third.onlyInTarget, [{ id: ci.record.id, owner: 'zot-ci', label: 'ci' }]);
    const { notes } = accountLines(third, false);
    assert.match(
      notes[0]!,
      new RegExp(
        `^note: API key ${ci.record.id} of zot-ci \\("ci"\\) is in the target but not in the source`,
      ),
    );
  });

  it('reports a source without a Berth database as skipped', () => {
    const { lines } = accountLines(emptyAccountsReport('no database'), false);
    assert.deepEqual(lines, ['  accounts   skipped: no database']);
  });
});
