/**
 * Walks the storage tree for repository folders: folders whose path is a valid repository name
 * and whose entries satisfy `accept` (an index.json for the catalog, or any blobs or uploads for
 * garbage collection). Berth's own folders (`_berth`) and the layout's internals are skipped.
 */
import { isValidRepositoryName } from '../oci/names.js';
import type { StorageDriver } from '../storage/driver.js';
import { META_DIR, RESERVED_REPO_ENTRIES } from './layout.js';

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
