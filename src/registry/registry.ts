/**
 * The registry: OCI semantics over a storage driver and the metadata index, with no knowledge of
 * HTTP. `http/` calls these services; extensions (sync, gc) use them too.
 */
import type { Logger } from 'pino';
import type { StorageDriver } from '../storage/driver.js';
import type { RegistryIndex } from '../meta/registry-index.js';
import type { UploadSessions } from '../meta/upload-sessions.js';
import type { Coordination } from '../coordination/coordination.js';
import type { RecentBlobTimes } from '../meta/pull-times.js';
import { BlobStore } from './blobs.js';
import { findStoreRepositories } from './repository-folders.js';
import { UploadService } from './uploads.js';
import { ManifestService } from './manifests.js';
import { RegistryEvents } from './events.js';
import { findRepositories, reconcile, type ReconcileResult } from './reconcile.js';
import { contentAddressedLayout, perRepositoryLayout, type StoreLayoutKind } from './store-layout.js';

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
  /**
   * How the store is laid out (`store-layout.ts`): `per-repository` OCI image layouts (the
   * default, the filesystem's, zot compatible) or `content-addressed` (object stores).
   */
  layout?: StoreLayoutKind;
  /** Redirect blob downloads to the driver's presigned URLs (`storage.redirectBlobURL`). */
  redirectBlobs?: boolean;
  /** The metadata store's recent-blob times (see BlobStoreOptions.recentBlobs). */
  recentBlobs?: RecentBlobTimes;
}

export class Registry {
  readonly driver: StorageDriver;
  readonly index: RegistryIndex;
  readonly blobs: BlobStore;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
  readonly events = new RegistryEvents();
  readonly layout: StoreLayoutKind;
  private readonly log: Logger;

  constructor(options: RegistryOptions) {
    this.driver = options.driver;
    this.log = options.log;
    this.index = options.index;
    this.layout = options.layout ?? 'per-repository';
    const storeLayout = this.layout === 'content-addressed' ? contentAddressedLayout : perRepositoryLayout;
    this.blobs = new BlobStore(
      options.driver,
      this.index,
      {
        dedupe: options.dedupe,
        layout: storeLayout,
        coordination: options.coordination,
        redirect: options.redirectBlobs ?? false,
        recentBlobs: options.recentBlobs,
      },
      this.events,
    );
    this.uploads = new UploadService(options.driver, this.blobs, options.uploadSessions, {
      persistHashState: options.persistHashState ?? false,
      layout: storeLayout,
    });
    this.manifests = new ManifestService(
      options.driver,
      this.index,
      this.blobs,
      this.events,
      options.coordination,
      storeLayout,
    );
  }

  /**
   * Re-reads the layouts on disk where the metadata index is stale. The content-addressed layout
   * has no layouts to read (the metadata store is the truth): nothing to do, nothing listed.
   */
  async reconcile(): Promise<ReconcileResult> {
    if (this.layout === 'content-addressed') return { scanned: 0, reindexed: 0, dropped: 0 };
    return reconcile(this.driver, this.index, this.log);
  }

  /**
   * Every repository that may hold something: for garbage collection and scrub. Per-repository
   * layout: the folders of the store (index.json, blobs or uploads); content-addressed: the
   * metadata store's repositories with manifests or blob rows. `withManifests`: only repositories
   * (an index.json; a manifest), as scrub walks them.
   */
  async repositories(options: { withManifests?: boolean } = {}): Promise<string[]> {
    if (this.layout === 'per-repository') {
      return options.withManifests ? findRepositories(this.driver) : findStoreRepositories(this.driver);
    }
    const names = new Set<string>();
    for (let after = ''; ;) {
      const page = await this.index.catalog(after, 1000);
      for (const name of page) names.add(name);
      if (page.length < 1000) break;
      after = page[page.length - 1]!;
    }
    if (!options.withManifests) for (const { repo } of await this.index.repositorySizes()) names.add(repo);
    return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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
