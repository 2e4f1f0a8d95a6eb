/**
 * Scrub: re-hashes every blob (manifests included) of every repository and checks that everything
 * the repository's index names is there: each listed manifest, each child of an index, each config
 * and layer. Reports per repository what is corrupt (bytes that do not hash to their name), missing
 * (named but absent) or unreadable (an index.json or manifest that does not parse).
 *
 * Scrub only reads. A missing object found while pushes and garbage collection run is confirmed
 * under the repository lock before it is reported, so that content removed legitimately between
 * two reads is not reported as lost. Repositories filled on demand by a pull-through cache hold
 * manifests before their layers; layers missing there are counted, not reported.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createHasher, tryParseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { Registry } from '../registry/registry.js';
import { isNotFound } from '../storage/errors.js';
import { manifestLinks, type ManifestLinks } from '../gc/links.js';

export type ScrubProblemKind = 'corrupt' | 'missing' | 'unreadable';

export interface ScrubProblem {
  repo: string;
  kind: ScrubProblemKind;
  /** The object concerned; absent for an unreadable index.json. */
  digest?: string;
  /** What names the missing object (`index.json` or a manifest digest). */
  referencedBy?: string;
  detail: string;
}

export interface RepositoryScrub {
  repo: string;
  /** Blob files re-hashed. */
  checked: number;
  bytes: number;
  /** Layers absent from a repository filled on demand (not problems). */
  notCached: number;
  problems: ScrubProblem[];
}

export interface ScrubReport {
  repositories: RepositoryScrub[];
  checked: number;
  bytes: number;
  problems: ScrubProblem[];
  durationSeconds: number;
  aborted: boolean;
}

export interface ScrubOptions {
  registry: Registry;
  log: Logger;
  /** Repositories a pull-through cache fills on demand. */
  onDemand?: (repo: string) => boolean;
  /** Only these repositories (default: all). */
  repositories?: string[];
  shouldStop?: () => boolean;
  /** Called once the repositories are known, then after each (progress on a terminal). */
  onStart?: (repositories: number) => void;
  onRepository?: (result: RepositoryScrub) => void;
}

/** Gone since it was listed: storage's not-found, or the registry's BLOB_UNKNOWN. */
function isGone(err: unknown): boolean {
  return isNotFound(err) || (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN');
}

async function hashFile(
  registry: Registry,
  repo: string,
  digest: Digest,
): Promise<{ actual: string; size: number } | undefined> {
  const hasher = createHasher(digest.algorithm);
  let size = 0;
  try {
    for await (const chunk of await registry.blobs.open(repo, digest)) {
      hasher.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    if (isGone(err)) return undefined; // removed since it was listed (GC, a delete)
    throw err;
  }
  return { actual: `${digest.algorithm}:${hasher.digest('hex')}`, size };
}

/** Re-hashes every blob file of a repository; returns the digests present and what is corrupt. */
async function hashBlobs(registry: Registry, repo: string, result: RepositoryScrub): Promise<Set<string>> {
  const present = new Set<string>();
  const files = (await registry.blobs.files(repo)).sort((a, b) => (a.digest.value < b.digest.value ? -1 : 1));
  for (const { digest } of files) {
    const hashed = await hashFile(registry, repo, digest);
    if (!hashed) continue;
    present.add(digest.value);
    result.checked++;
    result.bytes += hashed.size;
    if (hashed.actual !== digest.value) {
      result.problems.push({
        repo,
        kind: 'corrupt',
        digest: digest.value,
        detail: `content hashes to ${hashed.actual}`,
      });
    }
  }
  return present;
}

interface ReferenceCheck {
  problems: ScrubProblem[];
  notCached: number;
}

/** Walks index.json and every manifest it reaches, reporting what is named but absent or unreadable. */
async function checkReferences(
  registry: Registry,
  repo: string,
  onDemand: boolean,
  corrupt: Set<string>,
): Promise<ReferenceCheck> {
  const problems: ScrubProblem[] = [];
  let notCached = 0;
  let doc;
  try {
    doc = await registry.manifests.readIndexDocument(repo);
  } catch (err) {
    return {
      problems: [
        {
          repo,
          kind: 'unreadable',
          detail: `index.json: ${err instanceof Error ? err.message : String(err)}`,
        },
      ],
      notCached,
    };
  }
  const exists = async (digest: Digest): Promise<boolean> =>
    (await registry.blobs.stat(repo, digest)) !== undefined;
  const queue: { digest: string; by: string }[] = (doc?.manifests ?? []).map((d) => ({
    digest: d.digest,
    by: 'index.json',
  }));
  const seen = new Set<string>();
  while (queue.length > 0) {
    const { digest: text, by } = queue.shift()!;
    if (seen.has(text)) continue;
    seen.add(text);
    const digest = tryParseDigest(text);
    if (!digest) {
      problems.push({
        repo,
        kind: 'unreadable',
        digest: text,
        referencedBy: by,
        detail: 'not a valid digest',
      });
      continue;
    }
    let links: ManifestLinks;
    try {
      links = manifestLinks(await registry.blobs.read(repo, digest));
    } catch (err) {
      // A pull-through cache may hold an index without the platforms nobody pulled yet.
      if (isGone(err) && onDemand && by !== 'index.json') notCached++;
      else if (isGone(err))
        problems.push({
          repo,
          kind: 'missing',
          digest: text,
          referencedBy: by,
          detail: 'manifest is missing',
        });
      // A corrupt manifest is reported once, as corrupt; its links are unknown.
      else if (!corrupt.has(text))
        problems.push({
          repo,
          kind: 'unreadable',
          digest: text,
          referencedBy: by,
          detail: `manifest does not parse: ${err instanceof Error ? err.message : String(err)}`,
        });
      continue;
    }
    for (const child of links.children) queue.push({ digest: child.value, by: text });
    for (const blob of links.blobs) {
      if (seen.has(blob.value)) continue;
      seen.add(blob.value);
      if (await exists(blob)) continue;
      if (onDemand) notCached++;
      else
        problems.push({
          repo,
          kind: 'missing',
          digest: blob.value,
          referencedBy: text,
          detail: 'blob is missing',
        });
    }
  }
  return { problems, notCached };
}

export async function scrubRepository(repo: string, options: ScrubOptions): Promise<RepositoryScrub> {
  const { registry } = options;
  const result: RepositoryScrub = { repo, checked: 0, bytes: 0, notCached: 0, problems: [] };
  await hashBlobs(registry, repo, result);
  const corrupt = new Set(result.problems.map((p) => p.digest ?? ''));
  const onDemand = options.onDemand?.(repo) ?? false;
  let check = await checkReferences(registry, repo, onDemand, corrupt);
  if (check.problems.length > 0) {
    // Confirm under the lock every push and GC sweep takes: what vanished legitimately between
    // the reads above (a delete, a collected manifest) is no longer named then.
    check = await registry.manifests.withRepositoryLock(repo, () =>
      checkReferences(registry, repo, onDemand, corrupt),
    );
  }
  result.notCached = check.notCached;
  result.problems.push(...check.problems);
  return result;
}

/** Scrubs every repository (or the ones asked for) in turn. */
export async function scrubStore(options: ScrubOptions): Promise<ScrubReport> {
  const started = performance.now();
  const repos = options.repositories ?? (await options.registry.repositories({ withManifests: true }));
  const report: ScrubReport = {
    repositories: [],
    checked: 0,
    bytes: 0,
    problems: [],
    durationSeconds: 0,
    aborted: false,
  };
  options.onStart?.(repos.length);
  for (const repo of repos) {
    if (options.shouldStop?.()) {
      report.aborted = true;
      break;
    }
    let result: RepositoryScrub;
    try {
      result = await scrubRepository(repo, options);
    } catch (err) {
      result = {
        repo,
        checked: 0,
        bytes: 0,
        notCached: 0,
        problems: [{ repo, kind: 'unreadable', detail: err instanceof Error ? err.message : String(err) }],
      };
    }
    report.repositories.push(result);
    options.onRepository?.(result);
    report.checked += result.checked;
    report.bytes += result.bytes;
    report.problems.push(...result.problems);
    for (const p of result.problems)
      options.log.warn({ module: 'scrub', ...p }, `scrub: ${p.kind} ${p.digest ?? ''}`.trim());
    await yieldToEventLoop();
  }
  report.durationSeconds = (performance.now() - started) / 1000;
  return report;
}

/** The report as `berth scrub` prints it. */
export function formatScrubReport(report: ScrubReport): string {
  const lines: string[] = [];
  for (const r of report.repositories) {
    if (r.problems.length === 0) continue;
    lines.push(r.repo);
    for (const p of r.problems) {
      const what = p.digest ?? 'index.json';
      lines.push(
        `  ${p.kind.padEnd(10)} ${what}${p.referencedBy ? ` (named by ${p.referencedBy})` : ''}: ${p.detail}`,
      );
    }
  }
  const bad = report.repositories.filter((r) => r.problems.length > 0).length;
  const mib = (report.bytes / 1024 / 1024).toFixed(1);
  lines.push(
    report.problems.length === 0
      ? `scrub: ${report.repositories.length} repositories clean; ${report.checked} objects (${mib} MiB) re-hashed in ${report.durationSeconds.toFixed(1)} s`
      : `scrub: ${report.problems.length} problem(s) in ${bad} of ${report.repositories.length} repositories; ${report.checked} objects (${mib} MiB) re-hashed`,
  );
  if (report.aborted) lines.push('the scrub was interrupted before it reached every repository');
  return lines.join('\n');
}
