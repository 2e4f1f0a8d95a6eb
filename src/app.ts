/**
 * Builds a Berth server from a configuration without listening: storage, metadata database,
 * registry services, access control, routes. `cli/` listens; tests and benchmarks start the CLI.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { access as fsAccess, constants as fsConstants } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import { openDatabase, type Db } from './meta/database.js';
import { FilesystemDriver } from './storage/fs/driver.js';
import { Registry } from './registry/registry.js';
import { META_DB_FILE } from './registry/layout.js';
import { createHttpServer, type PlainRoute } from './http/server.js';
import { openAccess } from './http/access.js';
import { healthRoutes } from './http/health.js';

export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly db: Db;
  readonly registry: Registry;
  readonly server: Server;
  /** Listens on `http.address:http.port`; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then releases everything. */
  close(graceMs?: number): Promise<void>;
}

export async function buildApp(config: Config, log: Logger): Promise<App> {
  const root = config.storage.rootDirectory;
  const driver = new FilesystemDriver(root);
  const db = openDatabase(path.join(root, META_DB_FILE));
  const registry = new Registry({ driver, db, dedupe: config.storage.dedupe, log });
  let started = false;

  const routes: PlainRoute[] = [
    healthRoutes({
      started: () => started,
      ready: async () => {
        await fsAccess(root, fsConstants.W_OK);
        db.prepare('SELECT 1').get();
        return true;
      },
    }),
  ];
  const access = openAccess;
  const server = createHttpServer({ log, access, v2: { registry, access }, routes });

  const result = await registry.reconcile();
  log.info(result, 'metadata index reconciled with storage');
  started = true;

  return {
    config,
    log,
    db,
    registry,
    server,
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.address, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: async (graceMs = 30_000) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      db.close();
    },
  };
}
