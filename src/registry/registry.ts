/**
 * The registry: OCI semantics over a storage driver and the metadata index, with no knowledge of
 * HTTP. `http/` calls these services; extensions (sync, gc) use them too.
 */
import type { Logger } from 'pino';
import type { StorageDriver } from '../storage/driver.js';
import { RegistryIndex, REGISTRY_INDEX_MIGRATIONS } from '../meta/registry-index.js';
import { migrateModule, type Db } from '../meta/database.js';
import type { UploadSessions } from '../meta/upload-sessions.js';
import { SqliteUploadSessions } from '../meta/sqlite/upload-sessions.js';
import { BlobStore } from './blobs.js';
import { UploadService } from './uploads.js';
import { ManifestService } from './manifests.js';
import { RegistryEvents } from './events.js';
import { reconcile, type ReconcileResult } from './reconcile.js';

export interface RegistryOptions {
  driver: StorageDriver;
  db: Db;
  dedupe: boolean;
  log: Logger;
  /** Where upload sessions are recorded; default: the SQLite database (`db`). */
  uploadSessions?: UploadSessions;
  /** See UploadServiceOptions.persistHashState (default false: node:crypto, state kept in-process). */
  persistHashState?: boolean;
}

export class Registry {
  readonly driver: StorageDriver;
  readonly index: RegistryIndex;
  readonly blobs: BlobStore;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
  readonly events = new RegistryEvents();
  private readonly log: Logger;

  constructor(options: RegistryOptions) {
    migrateModule(options.db, 'registry-index', REGISTRY_INDEX_MIGRATIONS);
    this.driver = options.driver;
    this.log = options.log;
    this.index = new RegistryIndex(options.db);
    this.blobs = new BlobStore(options.driver, this.index, { dedupe: options.dedupe }, this.events);
    this.uploads = new UploadService(
      options.driver,
      this.blobs,
      options.uploadSessions ?? new SqliteUploadSessions(options.db),
      { persistHashState: options.persistHashState ?? false },
    );
    this.manifests = new ManifestService(options.driver, this.index, this.blobs, this.events);
  }

  /** Re-reads the layouts on disk where the metadata index is stale. */
  async reconcile(): Promise<ReconcileResult> {
    return reconcile(this.driver, this.index, this.log);
  }

  /** Repository names in byte order after `after`, at most `limit`. */
  catalog(after: string, limit: number): string[] {
    return this.index.catalog(after, limit);
  }

  /** Tag names in byte order after `after`, at most `limit`. */
  tags(repo: string, after: string, limit: number): string[] {
    return this.index.tagsPage(repo, after, limit);
  }
}
