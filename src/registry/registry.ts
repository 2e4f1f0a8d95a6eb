/**
 * The registry: OCI semantics over a storage driver and the metadata index, with no knowledge of
 * HTTP. `http/` calls these services; extensions (sync, gc) use them too.
 */
import type { Logger } from 'pino';
import type { StorageDriver } from '../storage/driver.js';
import type { RegistryIndex } from '../meta/registry-index.js';
import type { UploadSessions } from '../meta/upload-sessions.js';
import type { Coordination } from '../coordination/coordination.js';
import { BlobStore } from './blobs.js';
import { UploadService } from './uploads.js';
import { ManifestService } from './manifests.js';
import { RegistryEvents } from './events.js';
import { reconcile, type ReconcileResult } from './reconcile.js';

export interface RegistryOptions {
  driver: StorageDriver;
  /** The metadata store's registry index (repositories, manifests, tags, referrers, blob membership). */
  index: RegistryIndex;
  /** Repository locks across processes. */
  coordination: Coordination;
  dedupe: boolean;
  log: Logger;
  /** The metadata store's upload sessions (any process may continue any session). */
  uploadSessions: UploadSessions;
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
    this.driver = options.driver;
    this.log = options.log;
    this.index = options.index;
    this.blobs = new BlobStore(options.driver, this.index, { dedupe: options.dedupe }, this.events);
    this.uploads = new UploadService(options.driver, this.blobs, options.uploadSessions, {
      persistHashState: options.persistHashState ?? false,
    });
    this.manifests = new ManifestService(
      options.driver,
      this.index,
      this.blobs,
      this.events,
      options.coordination,
    );
  }

  /** Re-reads the layouts on disk where the metadata index is stale. */
  async reconcile(): Promise<ReconcileResult> {
    return reconcile(this.driver, this.index, this.log);
  }

  /** Repository names in byte order after `after`, at most `limit`. */
  catalog(after: string, limit: number): Promise<string[]> {
    return this.index.catalog(after, limit);
  }

  /** Tag names in byte order after `after`, at most `limit`. */
  tags(repo: string, after: string, limit: number): Promise<string[]> {
    return this.index.tagsPage(repo, after, limit);
  }
}
