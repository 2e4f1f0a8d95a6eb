/**
 * Finds every folder of the store that may hold something to collect: repositories (with an
 * index.json), and folders with blobs or upload sessions but no index.json yet (a push that never
 * sent its manifest), which `findRepositories` leaves out.
 */
import { isValidRepositoryName } from '../oci/names.js';
import type { StorageDriver } from '../storage/driver.js';
import { BLOBS_DIR, INDEX_FILE, META_DIR, RESERVED_REPO_ENTRIES, UPLOADS_DIR } from '../registry/layout.js';

export async function findStoreRepositories(driver: StorageDriver, dir = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await driver.list(dir)) {
    if (dir === '' && entry === META_DIR) continue;
    if (entry.startsWith('.') || entry.startsWith('_') || RESERVED_REPO_ENTRIES.has(entry)) continue;
    const child = dir === '' ? entry : `${dir}/${entry}`;
    if (!isValidRepositoryName(child)) continue;
    const children = await driver.list(child);
    if (children.length === 0) continue;
    if (children.includes(INDEX_FILE) || children.includes(BLOBS_DIR) || children.includes(UPLOADS_DIR))
      found.push(child);
    found.push(...(await findStoreRepositories(driver, child)));
  }
  return found;
}
