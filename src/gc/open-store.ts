/**
 * Opens a store for a one-off command (`berth gc`, `berth scrub`): the registry services over the
 * configured root and its metadata store, reconciled with the layouts on disk, without HTTP.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { metadataLocation } from '../config/metadata-location.js';
import { openMetadataStore } from '../meta/open.js';
import type { MetadataStore } from '../meta/store.js';
import { Registry } from '../registry/registry.js';
import { FilesystemDriver } from '../storage/fs/driver.js';

export interface OpenStore {
  registry: Registry;
  meta: MetadataStore;
  close(): Promise<void>;
}

export async function openStore(config: Config, log: Logger): Promise<OpenStore> {
  const root = config.storage.rootDirectory;
  if (!existsSync(root)) throw new Error(`storage.rootDirectory ${root} does not exist`);
  const { meta, coordination } = await openMetadataStore(metadataLocation(config, log));
  try {
    const registry = new Registry({
      driver: new FilesystemDriver(root),
      index: meta.registryIndex,
      uploadSessions: meta.uploadSessions,
      coordination,
      dedupe: config.storage.dedupe,
      log,
    });
    await registry.reconcile();
    return { registry, meta, close: () => meta.close() };
  } catch (err) {
    await meta.close();
    throw err;
  }
}
