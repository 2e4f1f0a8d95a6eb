/**
 * Walks the storage tree for repository folders: folders whose path is a valid repository name
 * and whose entries satisfy `accept` (an index.json for the catalog, or any blobs or uploads for
 * garbage collection). Berth's own folders (`_berth`) and the layout's internals are skipped.
 */
import { isValidRepositoryName } from '../oci/names.js';
import type { StorageDriver } from '../storage/driver.js';
import { BLOBS_DIR, INDEX_FILE, META_DIR, RESERVED_REPO_ENTRIES, UPLOADS_DIR } from './layout.js';

export async function findRepositoryFolders(
  driver: StorageDriver,
  accept: (entries: string[]) => boolean,
  dir = '',
): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await driver.list(dir)) {
    if (dir === '' && entry === META_DIR) continue;
    if (entry.startsWith('.') || entry.startsWith('_') || RESERVED_REPO_ENTRIES.has(entry)) continue;
    const child = dir === '' ? entry : `${dir}/${entry}`;
    if (!isValidRepositoryName(child)) continue;
    // list() answers [] for files and missing folders alike: nothing below them to visit.
    const entries = await driver.list(child);
    if (entries.length === 0) continue;
    if (accept(entries)) found.push(child);
    found.push(...(await findRepositoryFolders(driver, accept, child)));
  }
  return found;
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
