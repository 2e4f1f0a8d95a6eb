/**
 * Opens a store for a one-off command (`berth gc`, `berth scrub`): the registry services over the
 * configured root and its metadata database, reconciled with the layouts on disk, without HTTP.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { migrateModule, openDatabase, type Db } from '../meta/database.js';
import { META_DB_FILE } from '../registry/layout.js';
import { Registry } from '../registry/registry.js';
import { FilesystemDriver } from '../storage/fs/driver.js';
import { GC_MIGRATIONS } from './usage.js';

export interface OpenStore {
  registry: Registry;
  db: Db;
  close(): void;
}

export async function openStore(config: Config, log: Logger): Promise<OpenStore> {
  const root = config.storage.rootDirectory;
  if (!existsSync(root)) throw new Error(`storage.rootDirectory ${root} does not exist`);
  const db = openDatabase(path.join(root, META_DB_FILE));
  try {
    const registry = new Registry({
      driver: new FilesystemDriver(root),
      db,
      dedupe: config.storage.dedupe,
      log,
    });
    migrateModule(db, 'gc', GC_MIGRATIONS);
    await registry.reconcile();
    return { registry, db, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}
