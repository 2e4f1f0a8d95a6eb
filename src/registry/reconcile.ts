/**
 * Brings the metadata index in line with the OCI layouts on disk, which are the truth: at start-up
 * every repository whose index.json changed since it was indexed (or that the index has never
 * seen, as with a zot data directory or a lost database) is re-read; repositories that vanished
 * are dropped. A crash between writing index.json and updating the database is healed here.
 */
import type { Logger } from 'pino';
import { tryParseDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import type { StorageDriver } from '../storage/driver.js';
import type { ManifestRecord, RegistryIndex, RepositorySnapshot, TagRecord } from '../meta/registry-index.js';
import { BLOBS_DIR, INDEX_FILE, layout } from './layout.js';
import { findRepositoryFolders } from './repository-folders.js';
import { readIndex, stampOf, tagOf } from './oci-index.js';
import { toRecord } from './manifests.js';
import { SUPPORTED_ALGORITHMS } from '../oci/digest.js';
import { isNotFound } from '../storage/errors.js';
import { mapLimited } from '../util/map-limited.js';

/** Finds every repository: a folder with a valid name that holds an index.json. */
export function findRepositories(driver: StorageDriver): Promise<string[]> {
  return findRepositoryFolders(driver, (entries) => entries.includes(INDEX_FILE));
}

export interface ReconcileResult {
  scanned: number;
  reindexed: number;
  dropped: number;
}

/**
 * Repositories read at once: each is a chain of storage calls (stat, read index.json and the
 * manifests, list and stat the blobs), so one at a time left the process idle between them.
 */
const REPOSITORIES_IN_FLIGHT = 8;
/** Storage calls one repository makes at once (its manifests, then its blobs). */
const CALLS_PER_REPOSITORY = 8;
/** A transaction is committed once it holds this many repositories or rows, whichever comes first. */
const BATCH_REPOSITORIES = 100;
const BATCH_ROWS = 20_000;

export async function reconcile(
  driver: StorageDriver,
  index: RegistryIndex,
  log: Logger,
): Promise<ReconcileResult> {
  const known = await index.allStamps();
  const repos = await findRepositories(driver);
  let reindexed = 0;
  let batch: RepositorySnapshot[] = [];
  let batchRows = 0;
  const commit = async (): Promise<void> => {
    if (batch.length === 0) return;
    const snapshots = batch;
    batch = [];
    batchRows = 0;
    await index.replaceRepositories(snapshots);
    reindexed += snapshots.length;
  };
  await mapLimited(repos, REPOSITORIES_IN_FLIGHT, async (repo) => {
    const info = await driver.stat(layout.index(repo));
    const stamp = stampOf(info.size, info.modTime);
    if (known.get(repo) === stamp) return;
    const snapshot = await readRepository(driver, repo, stamp, log);
    batch.push(snapshot);
    batchRows += 1 + snapshot.manifests.length + snapshot.tags.length + snapshot.blobs.length;
    if (batch.length >= BATCH_REPOSITORIES || batchRows >= BATCH_ROWS) await commit();
  });
  await commit();
  const found = new Set(repos);
  const gone = [...known.keys()].filter((repo) => !found.has(repo));
  for (const repo of gone) await index.deleteRepository(repo);
  return { scanned: repos.length, reindexed, dropped: gone.length };
}

async function readRepository(
  driver: StorageDriver,
  repo: string,
  stamp: string,
  log: Logger,
): Promise<RepositorySnapshot> {
  const doc = await readIndex(driver, repo).catch((err: unknown) => {
    log.warn({ repo, err }, 'index.json is unreadable; repository indexed as empty');
    return undefined;
  });
  const entries = (doc?.manifests ?? []).flatMap((entry) => {
    const digest = tryParseDigest(entry.digest);
    return digest ? [{ entry, digest }] : [];
  });
  const now = Date.now();
  // A digest listed twice (two tags) is read once, with its first entry's media type.
  const firstOfEach = new Map<string, (typeof entries)[number]>();
  for (const e of entries) if (!firstOfEach.has(e.digest.value)) firstOfEach.set(e.digest.value, e);
  const records = await mapLimited(
    [...firstOfEach.values()],
    CALLS_PER_REPOSITORY,
    async ({ entry, digest }) => {
      try {
        const data = await driver.getContent(layout.blob(repo, digest));
        return toRecord(repo, digest.value, data.length, parseManifest(data, entry.mediaType), now);
      } catch (err) {
        log.warn(
          { repo, digest: digest.value, err: isNotFound(err) ? 'missing' : err },
          'manifest listed in index.json is unusable; skipped',
        );
        return undefined;
      }
    },
  );
  const manifests = records.filter((r): r is ManifestRecord => r !== undefined);
  const usable = new Set(manifests.map((m) => m.digest));
  const tags: TagRecord[] = [];
  for (const { entry, digest } of entries) {
    const tag = tagOf(entry);
    if (tag !== undefined && usable.has(digest.value))
      tags.push({ tag, digest: digest.value, pushedAt: now });
  }
  return { repo, stamp, manifests, tags, blobs: await readBlobs(driver, repo) };
}

/** Every blob file of the repository's layout, with its size. */
async function readBlobs(driver: StorageDriver, repo: string): Promise<{ digest: string; size: number }[]> {
  const blobs: { digest: string; size: number }[] = [];
  for (const algorithm of SUPPORTED_ALGORITHMS) {
    const dir = `${repo}/${BLOBS_DIR}/${algorithm}`;
    const digests = (await driver.list(dir)).flatMap((hex) => {
      const digest = tryParseDigest(`${algorithm}:${hex}`);
      return digest ? [digest.value] : [];
    });
    const sizes = await mapLimited(digests, CALLS_PER_REPOSITORY, async (digest) => {
      const info = await driver.stat(`${dir}/${digest.slice(algorithm.length + 1)}`).catch(() => undefined);
      return info && !info.isDirectory ? info.size : undefined;
    });
    digests.forEach((digest, i) => {
      const size = sizes[i];
      if (size !== undefined) blobs.push({ digest, size });
    });
  }
  return blobs;
}
