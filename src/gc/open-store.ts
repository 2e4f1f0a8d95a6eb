/**
 * Opens a store for a one-off command (`berth gc`, `berth scrub`): the registry services over the
 * configured root and its metadata store, reconciled with the layouts on disk, without HTTP.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { MetadataStore } from '../meta/store.js';
import { openRegistry } from '../open-registry.js';
import type { Registry } from '../registry/registry.js';

export interface OpenStore {
  registry: Registry;
  meta: MetadataStore;
  close(): Promise<void>;
}

export async function openStore(config: Config, log: Logger): Promise<OpenStore> {
  const root = config.storage.rootDirectory;
  if (!existsSync(root)) throw new Error(`storage.rootDirectory ${root} does not exist`);
  const opened = await openRegistry(config, log);
  try {
    await opened.registry.reconcile();
    return { registry: opened.registry, meta: opened.meta, close: () => opened.close() };
  } catch (err) {
    await opened.close();
    throw err;
  }
}
