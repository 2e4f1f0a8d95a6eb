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
import type { Registry } from '../registry/registry.js';
import { openRegistry, usesObjectStore } from '../open-registry.js';

export interface OpenStore {
  registry: Registry;
  meta: MetadataStore;
  close(): Promise<void>;
}

export async function openStore(config: Config, log: Logger): Promise<OpenStore> {
  const root = config.storage.rootDirectory;
  if (!usesObjectStore(config.storage) && !existsSync(root))
    throw new Error(`storage.rootDirectory ${root} does not exist`);
  const { meta, coordination } = await openMetadataStore(metadataLocation(config, log));
  try {
    const registry = openRegistry(config, log, { meta, coordination });
    await registry.reconcile();
    return { registry, meta, close: () => meta.close() };
  } catch (err) {
    await meta.close();
    throw err;
  }
}
