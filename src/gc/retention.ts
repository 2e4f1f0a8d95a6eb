/**
 * zot's retention policies (`storage.retention`), compiled and evaluated without I/O:
 *
 * - The first policy whose `repositories` globs match the repository applies; none → retention
 *   removes nothing and GC's defaults hold (`deleteUntagged` on, `deleteReferrers` off).
 * - `keepTags`: each tag goes to the first entry whose `patterns` (unanchored regexes; none = every
 *   tag) match it. Within its entry a tag is kept when any rule keeps it (`mostRecentlyPushedCount`,
 *   `mostRecentlyPulledCount`, `pulledWithin` (also kept when pushed within that time),
 *   `pushedWithin`), or when the entry has no rules. A tag no entry matches is removed. An empty
 *   `keepTags` keeps every tag, and a tag without statistics is always kept.
 * - `keepUntagged` ([HEAD] zot): the same rules over untagged manifests; the ones kept are spared
 *   by the age-based cleanup of untagged manifests.
 */
import { compileRepositoryPattern } from '../auth/authz/repository-pattern.js';
import { compileGoRegExp, type RetentionConfig, type RetentionPolicy } from '../config/index.js';

/** A tag or untagged manifest with its statistics (ms since the epoch; 0 = never pulled). */
export interface RetentionCandidate {
  digest: string;
  tag?: string;
  pushedAt: number;
  pulledAt: number;
}

interface Rules {
  readonly mostRecentlyPushedCount: number;
  readonly mostRecentlyPulledCount: number;
  readonly pushedWithin: number | undefined;
  readonly pulledWithin: number | undefined;
}

interface CompiledKeepTags {
  readonly patterns: RegExp[];
  readonly rules: Rules;
}

export interface CompiledRetentionPolicy {
  readonly deleteReferrers: boolean;
  readonly deleteUntagged: boolean;
  /** Empty: every tag is kept. */
  readonly keepTags: readonly CompiledKeepTags[];
  /** Undefined when no `keepUntagged` rule is set. */
  readonly keepUntagged: Rules | undefined;
}

/** Why retention removes a tag, as zot words it. */
export const TAG_REASON = {
  rules: "didn't meet any tag retention rule",
  patterns: "didn't meet any tag 'patterns' rules",
} as const;

function hasRules(rules: Rules): boolean {
  return (
    rules.mostRecentlyPushedCount > 0 ||
    rules.mostRecentlyPulledCount > 0 ||
    rules.pushedWithin !== undefined ||
    rules.pulledWithin !== undefined
  );
}

function rulesOf(source: {
  mostRecentlyPushedCount: number;
  mostRecentlyPulledCount: number;
  pushedWithin?: number | undefined;
  pulledWithin?: number | undefined;
}): Rules {
  return {
    mostRecentlyPushedCount: source.mostRecentlyPushedCount,
    mostRecentlyPulledCount: source.mostRecentlyPulledCount,
    pushedWithin: source.pushedWithin,
    pulledWithin: source.pulledWithin,
  };
}

function compilePolicy(policy: RetentionPolicy): {
  matches: (repo: string) => boolean;
  policy: CompiledRetentionPolicy;
} {
  const matchers = policy.repositories.map(compileRepositoryPattern);
  const keepUntagged = policy.keepUntagged ? rulesOf(policy.keepUntagged) : undefined;
  return {
    matches: (repo) => matchers.some((m) => m(repo)),
    policy: {
      deleteReferrers: policy.deleteReferrers,
      deleteUntagged: policy.deleteUntagged,
      keepTags: policy.keepTags.map((entry) => ({
        patterns: entry.patterns.map(compileGoRegExp),
        rules: rulesOf(entry),
      })),
      keepUntagged: keepUntagged && hasRules(keepUntagged) ? keepUntagged : undefined,
    },
  };
}

/** GC's behaviour for a repository no policy matches (zot's defaults). */
export const DEFAULT_POLICY: CompiledRetentionPolicy = Object.freeze({
  deleteReferrers: false,
  deleteUntagged: true,
  keepTags: [],
  keepUntagged: undefined,
});

export class RetentionPolicies {
  private readonly compiled;
  /** Minimum age (ms) of untagged manifests and referrers before they are removed. */
  readonly delayMs: number;
  /** Retention decisions are only logged, never applied. */
  readonly dryRun: boolean;

  constructor(config: RetentionConfig, fallbackDelayMs: number) {
    this.compiled = config.policies.map(compilePolicy);
    this.delayMs = config.delay ?? fallbackDelayMs;
    this.dryRun = config.dryRun;
  }

  /** The policy governing `repo`: the first whose globs match, else GC's defaults. */
  policyFor(repo: string): CompiledRetentionPolicy {
    return this.compiled.find((c) => c.matches(repo))?.policy ?? DEFAULT_POLICY;
  }
}

/** The candidates `rules` keep, as zot's rules do (any rule keeps; counts rank within the group). */
function kept(rules: Rules, candidates: RetentionCandidate[], now: number): Set<RetentionCandidate> {
  const keep = new Set<RetentionCandidate>();
  if (rules.mostRecentlyPulledCount > 0) {
    const ranked = [...candidates].sort((a, b) => b.pulledAt - a.pulledAt);
    for (const c of ranked.slice(0, rules.mostRecentlyPulledCount)) keep.add(c);
  }
  if (rules.mostRecentlyPushedCount > 0) {
    const ranked = [...candidates].sort((a, b) => b.pushedAt - a.pushedAt);
    for (const c of ranked.slice(0, rules.mostRecentlyPushedCount)) keep.add(c);
  }
  if (rules.pulledWithin !== undefined) {
    const since = now - rules.pulledWithin;
    // A tag pushed after the cut-off is kept too: it has not had the chance to be pulled yet.
    for (const c of candidates) if (c.pulledAt > since || c.pushedAt > since) keep.add(c);
  }
  if (rules.pushedWithin !== undefined) {
    const since = now - rules.pushedWithin;
    for (const c of candidates) if (c.pushedAt > since) keep.add(c);
  }
  return keep;
}

export interface TagRemoval {
  tag: string;
  digest: string;
  reason: string;
}

/**
 * The tags `policy.keepTags` does not keep. `tags` lists every tag in the repository's index;
 * `stats` those with statistics (a tag missing from it is kept, as zot keeps tags it has no
 * statistics for).
 */
export function tagsToRemove(
  policy: CompiledRetentionPolicy,
  tags: readonly { tag: string; digest: string }[],
  stats: ReadonlyMap<string, RetentionCandidate>,
  now: number,
): TagRemoval[] {
  if (policy.keepTags.length === 0) return [];
  const groups = policy.keepTags.map(() => [] as RetentionCandidate[]);
  const removals: TagRemoval[] = [];
  for (const { tag, digest } of tags) {
    const candidate = stats.get(tag);
    if (!candidate) continue;
    const group = policy.keepTags.findIndex(
      (entry) => entry.patterns.length === 0 || entry.patterns.some((p) => p.test(tag)),
    );
    if (group === -1) removals.push({ tag, digest, reason: TAG_REASON.patterns });
    else groups[group]!.push(candidate);
  }
  policy.keepTags.forEach((entry, i) => {
    const candidates = groups[i]!;
    if (!hasRules(entry.rules)) return;
    const keep = kept(entry.rules, candidates, now);
    for (const c of candidates) {
      if (!keep.has(c)) removals.push({ tag: c.tag ?? '', digest: c.digest, reason: TAG_REASON.rules });
    }
  });
  return removals;
}

/**
 * Untagged manifests `policy.keepUntagged` keeps. `untagged` lists every untagged candidate digest;
 * `stats` those with statistics (the rest are kept).
 */
export function untaggedToKeep(
  policy: CompiledRetentionPolicy,
  untagged: readonly string[],
  stats: ReadonlyMap<string, RetentionCandidate>,
  now: number,
): Set<string> {
  const keep = new Set<string>();
  if (!policy.keepUntagged) return keep;
  const candidates: RetentionCandidate[] = [];
  for (const digest of untagged) {
    const candidate = stats.get(digest);
    if (candidate) candidates.push(candidate);
    else keep.add(digest);
  }
  for (const c of kept(policy.keepUntagged, candidates, now)) keep.add(c.digest);
  return keep;
}
