/**
 * Garbage collection of one store, repository by repository, with zot's semantics
 * (`pkg/storage/gc`) and these guarantees:
 *
 * - Nothing younger than `gcDelay` goes: blobs and upload sessions are aged by their file's mtime
 *   (a hard link counts as written when it was made), untagged manifests and referrers by their
 *   manifest blob's mtime against the retention delay (default `gcDelay`).
 * - A manifest push can never end up naming a deleted blob: the sweep of a repository's index and
 *   blobs runs under the repository lock, the same lock under which a push checks its references
 *   and updates index.json. Either the push lands first, and its blobs are reachable when the sweep
 *   looks, or the sweep deletes first, and the push fails its reference check (MANIFEST_BLOB_UNKNOWN)
 *   instead of storing a broken image. Blobs this process stored within `gcDelay` are also spared
 *   (an upload of a blob already present keeps the old file and its old mtime).
 * - Upload sessions are removed under their own lock, after re-reading their mtime: a request
 *   writing to one is never cut short.
 * - Dedupe: blobs are hard links, so removing one repository's link never touches another's; a
 *   blob's bytes leave the disk with its last link.
 * - Only one repository is locked at a time, and listing a repository's blobs happens before its
 *   lock is taken, so pushes elsewhere never wait and pushes to the repository wait briefly.
 * - Content-addressed stores (S3): a repository's blobs are membership rows, and removing one
 *   removes the row. The objects themselves go in a last pass (`BlobStore.sweepUnheld`): one that no
 *   repository holds and that was written more than `gcDelay` ago, deleted under the blob's lock
 *   with its holders asked again there, so a push on another replica that stores or mounts it at
 *   that moment either keeps it or is refused (and retried) — never acknowledged and then lost.
 *   Multipart uploads of writers that died are aborted there too.
 * - Storage is reached only through the registry services (`registry.blobs`, `registry.uploads`,
 *   `registry.manifests`), which alone know the layout.
 */
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { tryParseDigest, type Digest } from '../oci/digest.js';
import { MANIFEST_MEDIA_TYPES } from '../oci/media-types.js';
import type { Descriptor } from '../oci/descriptor.js';
import { emptyIndex, removeTag, tagOf, type OciIndexDocument } from '../registry/oci-index.js';
import type { RecentBlobTimes } from '../meta/pull-times.js';
import type { Registry } from '../registry/registry.js';
import { isNotFound } from '../storage/errors.js';
import { RegistryError } from '../oci/errors.js';
import { forEachLimited } from '../registry/blobs.js';
import { isUploadId } from '../registry/upload-ids.js';
import { manifestLinks, type ManifestLinks } from './links.js';
import { SweepState } from './sweep-state.js';
import {
  isEmptyReport,
  type ManifestRemovalReason,
  type RepositoryReport,
  type StoreSweepReport,
  type SweepReport,
} from './report.js';
import {
  tagsToRemove,
  untaggedToKeep,
  type RetentionCandidate,
  type RetentionPolicies,
} from './retention.js';
import type { PullLedger } from './usage.js';

export interface CollectorOptions {
  registry: Registry;
  log: Logger;
  /** `storage.gcDelay` in ms: the minimum age of a blob or upload session before it is removed. */
  delayMs: number;
  retention: RetentionPolicies;
  /** The clock ages are measured against (ms since the epoch); tests and `--as-of` move it. */
  now?: () => number;
  /** Report what would be removed, change nothing. */
  dryRun?: boolean;
  /** Last-pull statistics for `mostRecentlyPulledCount` and `pulledWithin`. */
  pulls?: PullLedger;
  /** When blobs were last stored, by any process: a blob a client was just told is there stays. */
  recentBlobs?: RecentBlobTimes;
  /** Called after each repository, with what was removed there. */
  onRepository?: (report: RepositoryReport) => void;
}

interface BlobFile {
  digest: Digest;
  size: number;
  mtime: number;
}

interface ManifestFacts {
  /** Undefined when the manifest's blob is missing. */
  links: ManifestLinks | undefined;
  mtime: number;
}

/**
 * Minimum age of the temporary files atomic writes and cross-repository copies use (no lock guards
 * them): they live for milliseconds, so one this old was abandoned by a crash, whatever gcDelay is.
 */
const STRAY_MIN_AGE_MS = 3_600_000;

/** Legacy cosign tags (`sha256-<hex>.sig`, `.att`, `.sbom`) name their subject's digest. */
const COSIGN_TAG = /^(sha256|sha512)-([a-f0-9]+)\.(sig|att|sbom)$/;

function cosignSubject(tag: string | undefined): string | undefined {
  const match = tag === undefined ? null : COSIGN_TAG.exec(tag);
  return match ? tryParseDigest(`${match[1]}:${match[2]}`)?.value : undefined;
}

function emptyReport(repo: string): RepositoryReport {
  return {
    repo,
    tags: [],
    manifests: [],
    blobs: [],
    uploads: [],
    repositoryRemoved: false,
    bytes: 0,
    freedBytes: 0,
    retentionDryRun: false,
    durationSeconds: 0,
  };
}

export class GarbageCollector {
  private readonly registry: Registry;
  private readonly now: () => number;
  private readonly dryRun: boolean;

  constructor(private readonly options: CollectorOptions) {
    this.registry = options.registry;
    this.now = options.now ?? Date.now;
    this.dryRun = options.dryRun ?? false;
  }

  /** Collects every repository of the store in turn. `shouldStop` is asked between repositories. */
  async sweep(shouldStop: () => boolean = () => false): Promise<SweepReport> {
    const started = performance.now();
    const now = this.now();
    const repos = await this.registry.repositories();
    await this.options.pulls?.flush();
    const state = new SweepState(this.registry.index, this.dryRun);
    const repositories: RepositoryReport[] = [];
    let aborted = false;
    for (const repo of repos) {
      if (shouldStop()) {
        aborted = true;
        break;
      }
      const report = await this.collectRepository(repo, state);
      if (!isEmptyReport(report)) repositories.push(report);
      // Let requests in between repositories, whatever the storage's speed.
      await yieldToEventLoop();
    }
    // Upload sessions that never got a byte are records without files: the folders above miss them.
    if (!this.dryRun && !aborted) {
      await this.registry.uploads.expireIdle(now - this.options.delayMs).catch((err: unknown) => {
        this.options.log.error({ module: 'gc', err }, 'expiring idle upload sessions failed');
      });
    }
    const store = aborted ? undefined : await this.sweepStore(now, shouldStop);
    // Rows of manifests deleted meanwhile that were written after the delete (a pull flushed by
    // the ledger later, facts a request computed as it raced the delete): nothing else removes them.
    let orphanRows: number | undefined;
    if (!this.dryRun && !aborted) {
      orphanRows = await this.registry.index.purgeOrphans().catch((err: unknown) => {
        this.options.log.error({ module: 'gc', err }, 'purging the records of deleted manifests failed');
        return undefined;
      });
    }
    return {
      dryRun: this.dryRun,
      now,
      scanned: repos.length,
      repositories,
      ...(store ? { store } : {}),
      ...(orphanRows !== undefined ? { orphanRows } : {}),
      durationSeconds: (performance.now() - started) / 1000,
      aborted,
    };
  }

  /**
   * Content-addressed stores: the objects no repository holds any more, and the object store's
   * abandoned multipart uploads, both older than gcDelay. Nothing to do per-repository layouts
   * (a blob's bytes leave with its last link there). Failures are logged, never thrown.
   */
  private async sweepStore(now: number, shouldStop: () => boolean): Promise<StoreSweepReport | undefined> {
    if (!this.registry.blobs.contentAddressed) return undefined;
    const cutoff = now - this.options.delayMs;
    const report: StoreSweepReport = { blobs: [], freedBytes: 0, abortedUploads: 0 };
    try {
      report.blobs = await this.registry.blobs.sweepUnheld(cutoff, { dryRun: this.dryRun, shouldStop });
      report.freedBytes = report.blobs.reduce((sum, b) => sum + b.size, 0);
      if (!this.dryRun) report.abortedUploads = await this.registry.uploads.abortStaleWrites(cutoff);
    } catch (err) {
      report.error = err instanceof Error ? err.message : String(err);
      this.options.log.error({ module: 'gc', err }, 'garbage collection of unheld objects failed');
    }
    return report;
  }

  /** Collects one repository; failures are reported, never thrown. */
  async collectRepository(
    repo: string,
    state = new SweepState(this.registry.index, this.dryRun),
  ): Promise<RepositoryReport> {
    const started = performance.now();
    const report = emptyReport(repo);
    const now = this.now();
    const cutoff = now - this.options.delayMs;
    const strayCutoff = now - Math.max(this.options.delayMs, STRAY_MIN_AGE_MS);
    try {
      await this.collectUploads(repo, cutoff, strayCutoff, report);
      const files = await this.listBlobFiles(repo, strayCutoff, report);
      await this.registry.manifests.withRepositoryLock(repo, () =>
        this.collectLocked(repo, now, files, report, state),
      );
    } catch (err) {
      report.error = err instanceof Error ? err.message : String(err);
      this.options.log.error({ module: 'gc', repo, err }, 'garbage collection of the repository failed');
    }
    report.durationSeconds = (performance.now() - started) / 1000;
    this.options.onRepository?.(report);
    return report;
  }

  private async collectUploads(
    repo: string,
    sessionCutoff: number,
    strayCutoff: number,
    report: RepositoryReport,
  ): Promise<void> {
    for (const id of await this.registry.uploads.names(repo)) {
      // Sessions are guarded by their lock; anything else here is a copy's temporary file.
      const cutoff = isUploadId(id) ? sessionCutoff : strayCutoff;
      let size: number | undefined;
      if (this.dryRun) {
        const info = await this.registry.uploads.fileInfo(repo, id);
        if (info && !info.isDirectory && info.modTime.getTime() <= cutoff) size = info.size;
      } else {
        size = await this.registry.uploads.expire(repo, id, cutoff);
      }
      if (size === undefined) continue;
      report.uploads.push({ id, size });
      report.bytes += size;
      report.freedBytes += size;
    }
  }

  /**
   * The repository's blob files. Temporary files an interrupted atomic write left behind in the
   * blob folders (`<hex>.tmp-<uuid>`) are removed here once older than `strayCutoff`.
   */
  private async listBlobFiles(
    repo: string,
    strayCutoff: number,
    report: RepositoryReport,
  ): Promise<Map<string, BlobFile>> {
    const files = new Map<string, BlobFile>();
    const stored = await this.registry.blobs.files(repo, async (path, info) => {
      const name = path.slice(path.lastIndexOf('/') + 1);
      if (!name.includes('.tmp-') || info.modTime.getTime() > strayCutoff) return;
      if (!this.dryRun) await this.registry.blobs.removeStray(path);
      const algorithm = path.split('/').at(-2)!;
      report.uploads.push({ id: `${algorithm}/${name}`, size: info.size });
      report.bytes += info.size;
      report.freedBytes += info.size;
    });
    for (const file of stored) {
      files.set(file.digest.value, { digest: file.digest, size: file.size, mtime: file.modTime.getTime() });
    }
    return files;
  }

  private async collectLocked(
    repo: string,
    now: number,
    files: Map<string, BlobFile>,
    report: RepositoryReport,
    state: SweepState,
  ): Promise<void> {
    const { registry } = this;
    const retention = this.options.retention;
    const policy = retention.policyFor(repo);
    const manifestCutoff = now - retention.delayMs;
    const blobCutoff = now - this.options.delayMs;
    // A corrupt index.json throws here: nothing is collected rather than everything.
    const doc = await registry.manifests.readIndexDocument(repo);
    const original = doc?.manifests ?? [];
    const work: OciIndexDocument = { ...(doc ?? emptyIndex()), manifests: original.slice() };
    const facts = this.factsReader(repo, files);
    const removedBy = new Map<string, ManifestRemovalReason>();

    // Read every listed manifest up front, several at a time; what follows hits the cache.
    await forEachLimited(original, async (entry) => void (await facts(entry.digest)));

    // Entries whose manifest blob is gone cannot be served; drop them (zot does).
    for (const entry of original) {
      if ((await facts(entry.digest)).links === undefined) {
        work.manifests = work.manifests.filter((d) => d.digest !== entry.digest);
        removedBy.set(entry.digest, 'missing');
      }
    }

    const pulls = (await this.options.pulls?.lastPulls(repo)) ?? new Map<string, number>();
    if (policy.keepTags.length > 0) {
      const stats = new Map<string, RetentionCandidate>();
      for (const t of await registry.index.tags(repo)) {
        stats.set(t.tag, {
          tag: t.tag,
          digest: t.digest,
          pushedAt: t.pushedAt,
          pulledAt: pulls.get(t.digest) ?? 0,
        });
      }
      const tagged = work.manifests.flatMap((d) => {
        const tag = tagOf(d);
        // Statistics about another digest (a stale index) are no statistics for this tag.
        if (tag !== undefined && stats.get(tag)?.digest !== d.digest) stats.delete(tag);
        return tag === undefined ? [] : [{ tag, digest: d.digest }];
      });
      for (const removal of tagsToRemove(policy, tagged, stats, now)) {
        removeTag(work, removal.tag);
        report.tags.push(removal);
      }
    }

    for (let changed = true; changed;) {
      changed = false;
      if (policy.deleteReferrers) {
        const present = new Set(work.manifests.map((d) => d.digest));
        for (const entry of work.manifests.slice()) {
          const fact = await facts(entry.digest);
          const subject = fact.links?.subject ?? cosignSubject(tagOf(entry));
          if (subject === undefined || present.has(subject) || fact.mtime > manifestCutoff) continue;
          work.manifests = work.manifests.filter((d) => d !== entry);
          if (!work.manifests.some((d) => d.digest === entry.digest)) removedBy.set(entry.digest, 'referrer');
          changed = true;
        }
      }
      if (policy.deleteUntagged) {
        const referenced = await this.childrenOf(work.manifests, facts);
        const untagged: Descriptor[] = [];
        for (const entry of work.manifests) {
          if (tagOf(entry) !== undefined || !MANIFEST_MEDIA_TYPES.includes(entry.mediaType)) continue;
          if (referenced.has(entry.digest)) continue;
          // Referrers are never untagged garbage: they go with their subject (deleteReferrers).
          if ((await facts(entry.digest)).links?.subject !== undefined) continue;
          untagged.push(entry);
        }
        const keep = untaggedToKeep(
          policy,
          untagged.map((d) => d.digest),
          await this.untaggedStats(repo, pulls),
          now,
        );
        for (const entry of untagged) {
          if (keep.has(entry.digest) || (await facts(entry.digest)).mtime > manifestCutoff) continue;
          work.manifests = work.manifests.filter((d) => d !== entry);
          if (!work.manifests.some((d) => d.digest === entry.digest)) removedBy.set(entry.digest, 'untagged');
          changed = true;
        }
      }
    }

    const remaining = new Set(work.manifests.map((d) => d.digest));
    for (const [digest, reason] of removedBy) {
      if (remaining.has(digest)) continue;
      const mediaType = original.find((d) => d.digest === digest)?.mediaType ?? '';
      report.manifests.push({ digest, mediaType, reason });
    }
    const originalTags = new Map(
      original.flatMap((d) => (tagOf(d) === undefined ? [] : [[tagOf(d)!, d.digest] as const])),
    );
    const remainingTags = new Set(work.manifests.map(tagOf).filter((t) => t !== undefined));
    const removedTags = [...originalTags.keys()].filter((t) => !remainingTags.has(t));
    const removedDigests = [...new Set(original.map((d) => d.digest))].filter((d) => !remaining.has(d));

    report.retentionDryRun = retention.dryRun || this.dryRun;
    const apply = !report.retentionDryRun && (removedTags.length > 0 || removedDigests.length > 0);
    if (apply) {
      await registry.manifests.replaceIndexDocument(repo, work, removedTags, removedDigests);
      await this.options.pulls?.forget(repo, removedDigests);
      for (const tag of removedTags) {
        registry.events.emit('manifest-deleted', { repo, digest: originalTags.get(tag)!, tag });
      }
      for (const digest of removedDigests) registry.events.emit('manifest-deleted', { repo, digest });
    }

    // What stays alive: the index as it now is, or as it was when retention only reports.
    const roots = retention.dryRun ? original : work.manifests;
    const reachable = await this.reachableFrom(roots, facts);
    let blobsLeft = 0;
    const removedHere = new Set<string>();
    await forEachLimited([...files.values()], async (file) => {
      if (reachable.has(file.digest.value) || !(await this.collectable(repo, file, blobCutoff))) {
        blobsLeft++;
        return;
      }
      const heldElsewhere = await state.removing(repo, file.digest.value);
      // Content-addressed: removing the row frees nothing yet; the store-wide pass deletes the object.
      const freed = !heldElsewhere && (this.dryRun || !registry.blobs.contentAddressed);
      removedHere.add(file.digest.value);
      if (!this.dryRun) {
        await registry.blobs.remove(repo, file.digest);
        registry.events.emit('blob-deleted', { repo, digest: file.digest.value });
      }
      report.blobs.push({ digest: file.digest.value, size: file.size, freed });
      report.bytes += file.size;
      if (freed) report.freedBytes += file.size;
    });
    report.blobs.sort((a, b) => (a.digest < b.digest ? -1 : 1));
    if (apply) {
      // The index dropped the manifest rows' blob records; a manifest blob that stays (younger
      // than gcDelay) is still held.
      for (const digest of removedDigests) {
        const file = files.get(digest);
        if (file && !removedHere.has(digest)) await registry.index.addBlob(repo, digest, file.size);
      }
    }

    if (doc !== undefined && work.manifests.length === 0 && blobsLeft === 0 && !retention.dryRun) {
      await this.removeRepositoryIfEmpty(repo, report);
    }
  }

  /** Whether an unreachable blob is old enough to go, re-read under the lock. */
  private async collectable(repo: string, file: BlobFile, cutoff: number): Promise<boolean> {
    if (file.mtime > cutoff) return false;
    const stored = await this.options.recentBlobs?.storedAt(repo, file.digest.value);
    if (stored !== undefined && stored > cutoff) return false;
    const info = await this.registry.blobs.file(repo, file.digest);
    return info !== undefined && info.modTime.getTime() <= cutoff;
  }

  /**
   * Removes the layout files of a repository left with no manifest, blob or upload. Its folders
   * stay: an upload may be creating files in them right now, and only files are safe to delete.
   */
  private async removeRepositoryIfEmpty(repo: string, report: RepositoryReport): Promise<void> {
    const { registry } = this;
    // In a dry run the sessions reported as removable are still there (stray temp files have a '/').
    const wouldGo = this.dryRun ? report.uploads.filter((u) => !u.id.includes('/')).length : 0;
    if ((await registry.uploads.names(repo)).length > wouldGo) return;
    if (!this.dryRun && (await registry.blobs.files(repo)).length > 0) return;
    report.repositoryRemoved = true;
    if (this.dryRun) return;
    await this.registry.manifests.removeEmptyRepository(repo);
  }

  private async untaggedStats(
    repo: string,
    pulls: Map<string, number>,
  ): Promise<Map<string, RetentionCandidate>> {
    const stats = new Map<string, RetentionCandidate>();
    for (const m of await this.registry.index.manifests(repo)) {
      stats.set(m.digest, { digest: m.digest, pushedAt: m.pushedAt, pulledAt: pulls.get(m.digest) ?? 0 });
    }
    return stats;
  }

  /** Reads (once per digest) what a manifest links to and how old its blob is. */
  private factsReader(
    repo: string,
    files: Map<string, BlobFile>,
  ): (digest: string) => Promise<ManifestFacts> {
    const cache = new Map<string, ManifestFacts>();
    return async (text) => {
      const known = cache.get(text);
      if (known) return known;
      const digest = tryParseDigest(text);
      let fact: ManifestFacts = { links: undefined, mtime: 0 };
      if (digest) {
        try {
          const bytes = await this.registry.blobs.read(repo, digest);
          const fileTime =
            files.get(digest.value)?.mtime ??
            (await this.registry.blobs.file(repo, digest))?.modTime.getTime();
          if (fileTime === undefined) throw new RegistryError('BLOB_UNKNOWN', `manifest ${text} is gone`);
          // Pushing a manifest that is already stored leaves its file's mtime as it was: a push
          // this process saw recently makes it young again.
          const mtime = Math.max(
            fileTime,
            (await this.options.recentBlobs?.storedAt(repo, digest.value)) ?? 0,
          );
          fact = { links: manifestLinks(bytes), mtime };
        } catch (err) {
          const missing = isNotFound(err) || (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN');
          if (!missing)
            throw new Error(
              `manifest ${text} is unreadable: ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
        }
      }
      cache.set(text, fact);
      return fact;
    };
  }

  /** Digests named as children by the indexes among `entries`, at any depth. */
  private async childrenOf(
    entries: readonly Descriptor[],
    facts: (digest: string) => Promise<ManifestFacts>,
  ): Promise<Set<string>> {
    const children = new Set<string>();
    const queue = entries.map((d) => d.digest);
    const seen = new Set<string>();
    while (queue.length > 0) {
      const digest = queue.pop()!;
      if (seen.has(digest)) continue;
      seen.add(digest);
      for (const child of (await facts(digest)).links?.children ?? []) {
        children.add(child.value);
        queue.push(child.value);
      }
    }
    return children;
  }

  /** Every digest the entries keep alive: themselves, their children, configs and layers. */
  private async reachableFrom(
    entries: readonly Descriptor[],
    facts: (digest: string) => Promise<ManifestFacts>,
  ): Promise<Set<string>> {
    const reachable = new Set<string>();
    const queue = entries.map((d) => d.digest);
    while (queue.length > 0) {
      const digest = queue.pop()!;
      if (reachable.has(digest)) continue;
      reachable.add(digest);
      const links = (await facts(digest)).links;
      if (!links) continue;
      for (const blob of links.blobs) reachable.add(blob.value);
      for (const child of links.children) queue.push(child.value);
    }
    return reachable;
  }
}
