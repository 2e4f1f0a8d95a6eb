/**
 * Opens a store from a configuration: its storage driver, its metadata store and the registry
 * services over both, without HTTP. The one place that turns `storage.*` into a Registry, used by
 * `buildApp` (serve), by the one-off commands (`gc`, `scrub` through `gc/open-store.ts`) and by
 * `berth migrate`, so that every one of them reads and writes a store exactly the way the server
 * does (layout, dedupe, locks).
 */
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import { metadataLocation } from './config/metadata-location.js';
import type { Coordination } from './coordination/coordination.js';
import { openMetadataStore, type MetadataLocation } from './meta/open.js';
import type { MetadataStore } from './meta/store.js';
import { Registry } from './registry/registry.js';
import { s3DriverSettings } from './config/schema/s3.js';
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

export async function openRegistry(
  config: Config,
  log: Logger,
  options: OpenRegistryOptions = {},
): Promise<OpenedRegistry> {
  const { meta, coordination } = await openMetadataStore(
    options.metadata ?? metadataLocation(config, log, options.sqlitePragmas),
  );
  try {
    const registry = new Registry({
      driver: new FilesystemDriver(config.storage.rootDirectory),
      index: meta.registryIndex,
      uploadSessions: meta.uploadSessions,
      coordination,
      dedupe: config.storage.dedupe,
      log,
    });
    return { registry, meta, coordination, close: () => meta.close() };
  } catch (err) {
    await meta.close();
    throw err;
  }
}

/**
 * The storage driver `storage.*` names: S3 for `storageDriver: {name: "s3"}`, else the filesystem
 * at `rootDirectory`. `berth verify --online` probes it. Not yet what `openRegistry` serves from:
 * serving S3 needs the registry's content-addressed layout (issue 10, s1-s3serve), which will
 * choose the driver here and pass it on.
 */
export function configuredStorageDriver(config: Config): StorageDriver {
  const remote = config.storage.storageDriver;
  if (remote?.['name'] === 's3') return openS3Driver(s3DriverSettings(remote));
  if (remote !== undefined)
    throw new Error(`storage.storageDriver: ${String(remote['name'])} is not supported`);
  return new FilesystemDriver(config.storage.rootDirectory);
}
