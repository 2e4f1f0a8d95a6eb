/**
 * Opens a store from a configuration: its storage driver, its metadata store and the registry
 * services over both, without HTTP. The one place that turns `storage.*` into a Registry, used by
 * `buildApp` (serve), by the one-off commands (`gc`, `scrub` through `gc/open-store.ts`) and by
 * `berth migrate`, so that every one of them reads and writes a store exactly the way the server
 * does (driver, layout, dedupe, locks).
 *
 * The driver decides the layout (`registry/store-layout.ts`): the filesystem under
 * `storage.rootDirectory` keeps one OCI image layout per repository (zot's), S3
 * (`storageDriver: {name: "s3"}`) the content-addressed layout whose repository membership,
 * manifests and tags live in the metadata store (PostgreSQL: `configRefusals` in app.ts refuses S3
 * with SQLite).
 */
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import { metadataLocation } from './config/metadata-location.js';
import { s3DriverSettings } from './config/schema/s3.js';
import type { Coordination } from './coordination/coordination.js';
import { openMetadataStore, type MetadataLocation } from './meta/open.js';
import type { MetadataStore } from './meta/store.js';
import { Registry } from './registry/registry.js';
import type { StoreLayoutKind } from './registry/store-layout.js';
import type { StorageDriver } from './storage/driver.js';
import { FilesystemDriver } from './storage/fs/driver.js';
import { openS3Driver } from './storage/s3/index.js';

export interface OpenRegistryOptions {
  /** Raw pragmas for the SQLite store (tests: a tiny `max_page_count` makes the database full). */
  sqlitePragmas?: string[];
  /**
   * Another metadata store than the configuration's (`berth migrate` indexes a filesystem source
   * in a scratch database, so that the source folder, maybe a zot data directory, is never written).
   */
  metadata?: MetadataLocation;
}

export interface OpenedRegistry {
  registry: Registry;
  meta: MetadataStore;
  coordination: Coordination;
  /** Closes the metadata store (the registry has nothing else to release). */
  close(): Promise<void>;
}

type StorageSection = Pick<Config['storage'], 'rootDirectory' | 'storageDriver'>;

/** Whether the store lives in an object store (S3): the content-addressed layout, no local blobs. */
export function usesObjectStore(storage: StorageSection): boolean {
  return storage.storageDriver?.['name'] === 's3';
}

/** The storage driver `storage.*` names and the layout that goes with it. */
export function openStorage(storage: StorageSection): { driver: StorageDriver; layout: StoreLayoutKind } {
  const remote = storage.storageDriver;
  if (remote?.['name'] === 's3') {
    return { driver: openS3Driver(s3DriverSettings(remote)), layout: 'content-addressed' };
  }
  if (remote !== undefined)
    throw new Error(`storage.storageDriver: ${String(remote['name'])} is not supported`);
  return { driver: new FilesystemDriver(storage.rootDirectory), layout: 'per-repository' };
}

/**
 * The storage driver `storage.*` names: S3 for `storageDriver: {name: "s3"}`, else the filesystem
 * at `rootDirectory` (`berth verify --online` probes it).
 */
export function configuredStorageDriver(config: Config): StorageDriver {
  return openStorage(config.storage).driver;
}

/** The Registry of a configuration over an opened metadata store. */
export function registryOver(
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

/** Opens the configuration's metadata store (or `options.metadata`) and the Registry over it. */
export async function openRegistry(
  config: Config,
  log: Logger,
  options: OpenRegistryOptions = {},
): Promise<OpenedRegistry> {
  const { meta, coordination } = await openMetadataStore(
    options.metadata ?? metadataLocation(config, log, options.sqlitePragmas),
  );
  try {
    const registry = registryOver(config, log, { meta, coordination });
    return { registry, meta, coordination, close: () => meta.close() };
  } catch (err) {
    await meta.close();
    throw err;
  }
}
