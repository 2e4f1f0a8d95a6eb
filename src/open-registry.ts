/**
 * Builds the registry services from a configuration: the storage driver `storage.storageDriver`
 * names (the filesystem under `storage.rootDirectory` by default, S3 with `name: "s3"`), the
 * layout that goes with it, over an already opened metadata store. `serve` (app.ts), `gc`,
 * `scrub` and `migrate` all build their Registry here, so every command sees one store the same way.
 */
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import { s3DriverSettings } from './config/schema/s3.js';
import type { Coordination } from './coordination/coordination.js';
import type { MetadataStore } from './meta/store.js';
import { Registry } from './registry/registry.js';
import type { StoreLayoutKind } from './registry/store-layout.js';
import type { StorageDriver } from './storage/driver.js';
import { FilesystemDriver } from './storage/fs/driver.js';
import { openS3Driver } from './storage/s3/index.js';

type StorageSection = Pick<Config['storage'], 'rootDirectory' | 'storageDriver'>;

/** Whether the store lives in an object store (S3): the content-addressed layout, no local blobs. */
export function usesObjectStore(storage: StorageSection): boolean {
  return storage.storageDriver?.['name'] === 's3';
}

/** The storage driver and the layout that goes with it. */
export function openStorage(storage: StorageSection): { driver: StorageDriver; layout: StoreLayoutKind } {
  if (usesObjectStore(storage)) {
    return { driver: openS3Driver(s3DriverSettings(storage.storageDriver!)), layout: 'content-addressed' };
  }
  return { driver: new FilesystemDriver(storage.rootDirectory), layout: 'per-repository' };
}

/** The Registry of a configuration over its metadata store (see the header). */
export function openRegistry(
  config: Config,
  log: Logger,
  store: { meta: MetadataStore; coordination: Coordination },
): Registry {
  const { driver, layout } = openStorage(config.storage);
  return new Registry({
    driver,
    layout,
    index: store.meta.registryIndex,
    uploadSessions: store.meta.uploadSessions,
    coordination: store.coordination,
    dedupe: config.storage.dedupe,
    redirectBlobs: config.storage.redirectBlobURL,
    recentBlobs: store.meta.recentBlobs,
    log,
  });
}
