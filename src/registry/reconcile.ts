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
import type { ManifestRecord, RegistryIndex, TagRecord } from '../meta/registry-index.js';
import { BLOBS_DIR, INDEX_FILE, layout } from './layout.js';
import { findRepositoryFolders } from './repository-folders.js';
import { readIndex, stampOf, tagOf } from './oci-index.js';
import { toRecord } from './manifests.js';
import { SUPPORTED_ALGORITHMS } from '../oci/digest.js';
import { isNotFound } from '../storage/errors.js';

/** Finds every repository: a folder with a valid name that holds an index.json. */
export function findRepositories(driver: StorageDriver): Promise<string[]> {
  return findRepositoryFolders(driver, (entries) => entries.includes(INDEX_FILE));
}

export interface ReconcileResult {
  scanned: number;
  reindexed: number;
  dropped: number;
}

export async function reconcile(
  driver: StorageDriver,
  index: RegistryIndex,
  log: Logger,
): Promise<ReconcileResult> {
  const known = await index.allStamps();
  const repos = await findRepositories(driver);
  let reindexed = 0;
  for (const repo of repos) {
    const info = await driver.stat(layout.index(repo));
    const stamp = stampOf(info.size, info.modTime);
    known.delete(repo);
    if ((await index.stamp(repo)) === stamp) continue;
    await reindexRepository(driver, index, repo, stamp, log);
    reindexed++;
  }
  for (const gone of known.keys()) await index.deleteRepository(gone);
  return { scanned: repos.length, reindexed, dropped: known.size };
}

async function reindexRepository(
  driver: StorageDriver,
  index: RegistryIndex,
  repo: string,
  stamp: string,
  log: Logger,
): Promise<void> {
  const doc = await readIndex(driver, repo).catch((err: unknown) => {
    log.warn({ repo, err }, 'index.json is unreadable; repository indexed as empty');
    return undefined;
  });
  const manifests = new Map<string, ManifestRecord>();
  const tags: TagRecord[] = [];
  const now = Date.now();
  for (const entry of doc?.manifests ?? []) {
    const digest = tryParseDigest(entry.digest);
    if (!digest) continue;
    if (!manifests.has(digest.value)) {
      try {
        const data = await driver.getContent(layout.blob(repo, digest));
        manifests.set(
          digest.value,
          toRecord(repo, digest.value, data.length, parseManifest(data, entry.mediaType), now),
        );
      } catch (err) {
        log.warn(
          { repo, digest: digest.value, err: isNotFound(err) ? 'missing' : err },
          'manifest listed in index.json is unusable; skipped',
        );
        continue;
      }
    }
    const tag = tagOf(entry);
    if (tag !== undefined) tags.push({ tag, digest: digest.value, pushedAt: now });
  }
  const blobs: { digest: string; size: number }[] = [];
  for (const algorithm of SUPPORTED_ALGORITHMS) {
    const dir = `${repo}/${BLOBS_DIR}/${algorithm}`;
    for (const hex of await driver.list(dir)) {
      const digest = tryParseDigest(`${algorithm}:${hex}`);
      if (!digest) continue;
      const info = await driver.stat(`${dir}/${hex}`).catch(() => undefined);
      if (info && !info.isDirectory) blobs.push({ digest: digest.value, size: info.size });
    }
  }
  await index.replaceRepository(repo, stamp, [...manifests.values()], tags, blobs);
}
