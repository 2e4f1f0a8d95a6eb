/**
 * Retention policies: zot's rules evaluated alone, then applied by garbage collection to images
 * pushed through the API.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { getManifest, listTags, makeImage, pushContent } from '../../test/support/fixtures.js';
import { parseConfig } from '../config/index.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import { gcExtension, type GcExtension } from './extension.js';
import {
  RetentionPolicies,
  TAG_REASON,
  tagsToRemove,
  untaggedToKeep,
  type RetentionCandidate,
} from './retention.js';
import { HOUR, startTestApp, TestClock, type TestApp } from './test-app.js';

const NOW = Date.parse('2026-09-01T00:00:00Z');
const DAY = 24 * HOUR;

function policies(retention: Record<string, unknown>): RetentionPolicies {
  const { config } = parseConfig({ storage: { rootDirectory: '/tmp/unused', retention } }, { baseDir: '/' });
  return new RetentionPolicies(config.storage.retention, config.storage.gcDelay);
}

function candidate(tag: string, pushedDaysAgo: number, pulledDaysAgo?: number): RetentionCandidate {
  return {
    tag,
    digest: `sha256:${tag}`,
    pushedAt: NOW - pushedDaysAgo * DAY,
    pulledAt: pulledDaysAgo === undefined ? 0 : NOW - pulledDaysAgo * DAY,
  };
}

function removedTags(
  retention: Record<string, unknown>,
  repo: string,
  candidates: RetentionCandidate[],
): string[] {
  const policy = policies(retention).policyFor(repo);
  const stats = new Map(candidates.map((c) => [c.tag!, c]));
  return tagsToRemove(
    policy,
    candidates.map((c) => ({ tag: c.tag!, digest: c.digest })),
    stats,
    NOW,
  )
    .map((r) => r.tag)
    .sort();
}

describe('retention rules', () => {
  const tags = [candidate('v1', 30), candidate('v2', 20, 1), candidate('v3', 10), candidate('dev', 1)];

  it('applies the first policy whose repository globs match; none means GC defaults and no tag removal', () => {
    const p = policies({
      policies: [
        { repositories: ['infra/**'], deleteReferrers: true, keepTags: [{ patterns: ['^v'] }] },
        { repositories: ['**'], deleteUntagged: false },
      ],
    });
    assert.equal(p.policyFor('infra/db').deleteReferrers, true);
    assert.equal(p.policyFor('apps/web').deleteUntagged, false);
    assert.equal(p.policyFor('apps/web').keepTags.length, 0);
    const none = policies({ policies: [{ repositories: ['infra/**'] }] }).policyFor('apps/web');
    assert.deepEqual([none.deleteUntagged, none.deleteReferrers, none.keepTags.length], [true, false, 0]);
  });

  it('keeps every tag when keepTags is empty', () => {
    assert.deepEqual(removedTags({ policies: [{ repositories: ['**'] }] }, 'r', tags), []);
  });

  it('removes tags that match no keepTags patterns and keeps those an entry without rules matches', () => {
    const removed = removedTags(
      { policies: [{ repositories: ['**'], keepTags: [{ patterns: ['^v'] }] }] },
      'r',
      tags,
    );
    assert.deepEqual(removed, ['dev']);
  });

  it('keeps the most recently pushed tags of a group', () => {
    const retention = {
      policies: [
        {
          repositories: ['**'],
          keepTags: [{ patterns: ['^v'], mostRecentlyPushedCount: 2 }, { patterns: ['.*'] }],
        },
      ],
    };
    assert.deepEqual(removedTags(retention, 'r', tags), ['v1']);
  });

  it('keeps the most recently pulled tags; a never-pulled tag ranks last', () => {
    const retention = { policies: [{ repositories: ['**'], keepTags: [{ mostRecentlyPulledCount: 1 }] }] };
    assert.deepEqual(removedTags(retention, 'r', tags), ['dev', 'v1', 'v3']);
  });

  it('pulledWithin keeps tags pulled, or pushed, within the duration', () => {
    const retention = { policies: [{ repositories: ['**'], keepTags: [{ pulledWithin: '48h' }] }] };
    assert.deepEqual(removedTags(retention, 'r', tags), ['v1', 'v3']);
  });

  it('keeps a tag when any rule of its entry keeps it', () => {
    const retention = {
      policies: [{ repositories: ['**'], keepTags: [{ pushedWithin: '360h', mostRecentlyPulledCount: 1 }] }],
    };
    assert.deepEqual(removedTags(retention, 'r', tags), ['v1']);
  });

  it('gives each tag to the first entry whose patterns match it', () => {
    const retention = {
      policies: [
        {
          repositories: ['**'],
          keepTags: [
            { patterns: ['^v1$'], mostRecentlyPushedCount: 1 },
            { patterns: ['^v'], pushedWithin: '250h' },
          ],
        },
      ],
    };
    // v1 is alone in the first entry (kept); v2 (20 days) falls out of the second.
    assert.deepEqual(removedTags(retention, 'r', tags), ['dev', 'v2']);
  });

  it('keeps tags it has no statistics for', () => {
    const policy = policies({
      policies: [{ repositories: ['**'], keepTags: [{ patterns: ['^v'] }] }],
    }).policyFor('r');
    const removals = tagsToRemove(policy, [{ tag: 'unknown', digest: 'sha256:x' }], new Map(), NOW);
    assert.deepEqual(removals, []);
    const withStats = tagsToRemove(
      policy,
      [{ tag: 'unknown', digest: 'sha256:x' }],
      new Map([['unknown', candidate('unknown', 1)]]),
      NOW,
    );
    assert.deepEqual(
      withStats.map((r) => r.reason),
      [TAG_REASON.patterns],
    );
  });

  it('keepUntagged keeps untagged manifests by its rules, and those without statistics', () => {
    const policy = policies({
      policies: [{ repositories: ['**'], keepUntagged: { mostRecentlyPushedCount: 1 } }],
    }).policyFor('r');
    const a = { digest: 'sha256:a', pushedAt: NOW - 3 * DAY, pulledAt: 0 };
    const b = { digest: 'sha256:b', pushedAt: NOW - DAY, pulledAt: 0 };
    const stats = new Map([a, b].map((c) => [c.digest, c]));
    assert.deepEqual([...untaggedToKeep(policy, ['sha256:a', 'sha256:b', 'sha256:c'], stats, NOW)].sort(), [
      'sha256:b',
      'sha256:c',
    ]);
    const none = policies({ policies: [{ repositories: ['**'] }] }).policyFor('r');
    assert.equal(untaggedToKeep(none, ['sha256:a'], stats, NOW).size, 0);
  });
});

describe('retention applied by garbage collection', () => {
  let running: TestApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(
    retention: Record<string, unknown>,
  ): Promise<{ t: TestApp; clock: TestClock; gc: GcExtension }> {
    const clock = new TestClock();
    const t = await startTestApp(
      { storage: { gc: true, gcDelay: '1h', retention } },
      { extensions: [gcExtension({ now: clock.now, manual: true })] },
    );
    running = t;
    return { t, clock, gc: t.app.extensions.find((e) => e.name === 'gc') as GcExtension };
  }

  /** Sets when a tag was pushed, as if it had been pushed that long ago. */
  async function pushedAgo(
    t: TestApp,
    repo: string,
    tag: string,
    ms: number,
    clock: TestClock,
  ): Promise<void> {
    const index = t.app.meta.registryIndex;
    const record = (await index.resolveTag(repo, tag))!;
    const full = (await index.manifest(repo, record.digest))!;
    // Recording the tag again with an older push time moves only the tag's time.
    await index.recordManifest({ ...full, pushedAt: clock.now() - ms }, [tag], (await index.stamp(repo))!);
  }

  it('removes the tags no rule keeps, with a log line and a metric each, then collects their images', async () => {
    const { t, clock, gc } = await start({
      policies: [{ repositories: ['**'], keepTags: [{ patterns: ['^v'], mostRecentlyPushedCount: 2 }] }],
    });
    const images = { v1: makeImage(), v2: makeImage(), v3: makeImage(), dev: makeImage() };
    for (const [tag, image] of Object.entries(images)) await pushContent(t.url, 'svc', image, tag);
    await pushedAgo(t, 'svc', 'v1', 3 * DAY, clock);
    await pushedAgo(t, 'svc', 'v2', 2 * DAY, clock);
    await pushedAgo(t, 'svc', 'v3', 1 * DAY, clock);
    clock.advance(2 * HOUR);

    const report = await gc.sweepNow();
    const svc = report.repositories[0]!;
    assert.deepEqual(svc.tags.map((r) => [r.tag, r.reason]).sort(), [
      ['dev', TAG_REASON.patterns],
      ['v1', TAG_REASON.rules],
    ]);
    assert.deepEqual(
      svc.manifests.map((m) => m.digest).sort(),
      [images.dev.manifest.digest, images.v1.manifest.digest].sort(),
    );
    assert.deepEqual((await listTags(t.url, 'svc')).sort(), ['v2', 'v3']);
    assert.equal((await getManifest(t.url, 'svc', images.v1.manifest.digest)).status, 404);

    const lines = t.logs().filter((l) => l.msg === 'retention: tag removed');
    assert.deepEqual(lines.map((l) => l.tag).sort(), ['dev', 'v1']);
    const counted = (await metricsFor(t.app.registry).retentionDeleted.get()).values;
    assert.equal(counted.find((v) => v.labels.reason === 'tag' && v.labels.dry_run === 'false')?.value, 2);
    assert.equal(counted.find((v) => v.labels.reason === 'untagged')?.value, 2);
  });

  it('keeps a tag pulled within pulledWithin, from pulls it recorded itself', async () => {
    const { t, clock, gc } = await start({
      policies: [{ repositories: ['**'], keepTags: [{ pulledWithin: '24h' }] }],
    });
    const pulled = makeImage();
    const idle = makeImage();
    await pushContent(t.url, 'cache', pulled, 'pulled');
    await pushContent(t.url, 'cache', idle, 'idle');
    await pushedAgo(t, 'cache', 'pulled', 10 * DAY, clock);
    await pushedAgo(t, 'cache', 'idle', 10 * DAY, clock);
    assert.equal((await getManifest(t.url, 'cache', 'pulled')).status, 200);
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    assert.deepEqual(
      report.repositories[0]?.tags.map((r) => r.tag),
      ['idle'],
    );
    assert.deepEqual(await listTags(t.url, 'cache'), ['pulled']);
  });

  it('only reports in dryRun: the tags stay and nothing is counted as deleted for real', async () => {
    const { t, clock, gc } = await start({
      dryRun: true,
      policies: [{ repositories: ['**'], keepTags: [{ patterns: ['^release-'] }] }],
    });
    const image = makeImage();
    await pushContent(t.url, 'dry', image, 'nightly');
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    const dry = report.repositories[0]!;
    assert.equal(dry.retentionDryRun, true);
    assert.deepEqual(
      dry.tags.map((r) => r.tag),
      ['nightly'],
    );
    assert.deepEqual(dry.blobs, [], 'what the kept tag needs is not collected');
    assert.deepEqual(await listTags(t.url, 'dry'), ['nightly']);
    const counted = (await metricsFor(t.app.registry).retentionDeleted.get()).values;
    assert.equal(counted.find((v) => v.labels.reason === 'tag')?.labels.dry_run, 'true');
  });

  it('keeps untagged manifests when a policy turns deleteUntagged off', async () => {
    const { t, clock, gc } = await start({
      policies: [{ repositories: ['keep/**'], deleteUntagged: false }],
    });
    const image = makeImage();
    await pushContent(t.url, 'keep/this', image);
    await pushContent(t.url, 'other', makeImage());
    clock.advance(2 * HOUR);
    const report = await gc.sweepNow();
    assert.deepEqual(
      report.repositories.map((r) => r.repo),
      ['other'],
    );
    assert.equal((await getManifest(t.url, 'keep/this', image.manifest.digest)).status, 200);
  });
});
