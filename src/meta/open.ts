/**
 * Opens the metadata store the configuration asks for: the embedded SQLite database beside the
 * data (the default, one machine) or PostgreSQL (replicas on many machines). The one place that
 * picks; callers turn the config into a location (`config/schema/postgres.ts` says when it is
 * PostgreSQL) and never name an implementation.
 */
import { openPostgresStore } from './postgres/store.js';
import { openSqliteStore } from './sqlite/store.js';
import type { OpenedStore } from './store.js';

export type MetadataLocation =
  | { kind: 'sqlite'; file: string; pragmas?: string[] }
  | {
      kind: 'postgres';
      url: string;
      schema?: string | undefined;
      maxConnections?: number | undefined;
      /** Connection errors the store recovers from (to log; never thrown). */
      onError?: (err: Error) => void;
    };

/** The store's `uploadSessions` port is the one the registry takes (SQLite's or PostgreSQL's). */
export async function openMetadataStore(location: MetadataLocation): Promise<OpenedStore> {
  if (location.kind === 'sqlite') {
    return openSqliteStore(location.file, location.pragmas ? { pragmas: location.pragmas } : {});
  }
  const { meta, coordination } = await openPostgresStore({
    url: location.url,
    ...(location.schema !== undefined ? { schema: location.schema } : {}),
    ...(location.maxConnections !== undefined ? { poolSize: location.maxConnections } : {}),
    ...(location.onError ? { onError: location.onError } : {}),
  });
  return { meta, coordination };
}
