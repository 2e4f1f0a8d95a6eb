/**
 * Finds every folder of the store that may hold something to collect: repositories (with an
 * index.json), and folders with blobs or upload sessions but no index.json yet (a push that never
 * sent its manifest), which `findRepositories` leaves out.
 */
import type { StorageDriver } from '../storage/driver.js';
import { BLOBS_DIR, INDEX_FILE, UPLOADS_DIR } from '../registry/layout.js';
import { findRepositoryFolders } from '../registry/repository-folders.js';

export function findStoreRepositories(driver: StorageDriver): Promise<string[]> {
  return findRepositoryFolders(
    driver,
    (entries) => entries.includes(INDEX_FILE) || entries.includes(BLOBS_DIR) || entries.includes(UPLOADS_DIR),
  );
}
