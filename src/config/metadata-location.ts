/**
 * Where the configuration puts the metadata store: PostgreSQL when `storage.remoteCache` is on with
 * a `postgres` cacheDriver, else the SQLite file in the data directory. Used by `serve` and by the
 * one-off commands (gc, scrub), so both always open the same store.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { MetadataLocation } from '../meta/open.js';
import { META_DB_FILE } from '../registry/layout.js';
import type { Config } from './load.js';
import { postgresSettings } from './schema/postgres.js';

export function metadataLocation(config: Config, log: Logger, sqlitePragmas?: string[]): MetadataLocation {
  const postgres = postgresSettings(config.storage);
  if (postgres === undefined) {
    return {
      kind: 'sqlite',
      file: path.join(config.storage.rootDirectory, META_DB_FILE),
      ...(sqlitePragmas ? { pragmas: sqlitePragmas } : {}),
      onError: (err) =>
        log.warn({ err: { message: err.message } }, 'metadata database recovered from an error'),
    };
  }
  return {
    kind: 'postgres',
    ...postgres,
    // pg's errors name the host and the cause, never the password.
    onError: (err) =>
      log.warn({ err: { message: err.message } }, 'metadata database connection error (retrying)'),
  };
}
