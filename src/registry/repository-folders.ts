/**
 * Walks the storage tree for repository folders: folders whose path is a valid repository name
 * and whose entries satisfy `accept` (an index.json for the catalog, or any blobs or uploads for
 * garbage collection). Berth's own folders (`_berth`) and the layout's internals are skipped.
 */
import { isValidRepositoryName } from '../oci/names.js';
import type { StorageDriver } from '../storage/driver.js';
import { BLOBS_DIR, INDEX_FILE, META_DIR, RESERVED_REPO_ENTRIES, UPLOADS_DIR } from './layout.js';
import { mapLimited } from '../util/map-limited.js';

/** Folders listed at once: on S3 each listing is a round trip, on a disk a thread-pool call. */
const LISTINGS_IN_FLIGHT = 16;

export async function findRepositoryFolders(
  driver: StorageDriver,
  accept: (entries: string[]) => boolean,
): Promise<string[]> {
  const found: string[] = [];
  // Breadth first, one level at a time, so that each level's folders are listed concurrently.
  let level: { dir: string; entries: string[] }[] = [{ dir: '', entries: await driver.list('') }];
  while (level.length > 0) {
    const children = level.flatMap(({ dir, entries }) =>
      entries.flatMap((entry) => {
        if (dir === '' && entry === META_DIR) return [];
        if (entry.startsWith('.') || entry.startsWith('_') || RESERVED_REPO_ENTRIES.has(entry)) return [];
        const child = dir === '' ? entry : `${dir}/${entry}`;
        return isValidRepositoryName(child) ? [child] : [];
      }),
    );
    // list() answers [] for files and missing folders alike: nothing below them to visit.
    const listed = await mapLimited(children, LISTINGS_IN_FLIGHT, async (dir) => ({
      dir,
      entries: await driver.list(dir),
    }));
    level = listed.filter(({ entries }) => entries.length > 0);
    for (const { dir, entries } of level) if (accept(entries)) found.push(dir);
  }
  return found.sort();
}

/**
 * Every folder of a per-repository store that may hold something to collect or check:
 * repositories (with an index.json), and folders with blobs or upload sessions but no index.json
 * yet (a push that never sent its manifest).
 */
export function findStoreRepositories(driver: StorageDriver): Promise<string[]> {
  return findRepositoryFolders(
    driver,
    (entries) => entries.includes(INDEX_FILE) || entries.includes(BLOBS_DIR) || entries.includes(UPLOADS_DIR),
  );
}
