/**
 * Opens the metadata store the configuration asks for: the embedded SQLite database beside the
 * data (the default, one machine) or PostgreSQL (replicas on many machines). The one place that
 * picks; callers turn the config into a location (`config/schema/postgres.ts` says when it is
 * PostgreSQL) and never name an implementation.
 */
import { openPostgresStore } from './postgres/store.js';
import { snapshotSqliteDatabase } from './sqlite/snapshot.js';
import { openSqliteStore } from './sqlite/store.js';
import type { OpenedStore } from './store.js';

export type MetadataLocation =
  | {
      kind: 'sqlite';
      file: string;
      pragmas?: string[];
      /** Failures the store recovers from (a failed WAL checkpoint): to log, never thrown. */
      onError?: (err: Error) => void;
    }
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
    return openSqliteStore(location.file, {
      ...(location.pragmas ? { pragmas: location.pragmas } : {}),
      ...(location.onError ? { onError: location.onError } : {}),
    });
  }
  const { meta, coordination } = await openPostgresStore({
    url: location.url,
    ...(location.schema !== undefined ? { schema: location.schema } : {}),
    ...(location.maxConnections !== undefined ? { poolSize: location.maxConnections } : {}),
    ...(location.onError ? { onError: location.onError } : {}),
  });
  return { meta, coordination };
}

/**
 * A SQLite store as it is now, opened from a copy at `into` (`sqlite/snapshot.ts`), so that
 * reading it writes nothing beside the original (`berth migrate` reads a source's accounts this
 * way); undefined when there is no database at the location.
 */
export async function openSqliteSnapshot(
  location: Extract<MetadataLocation, { kind: 'sqlite' }>,
  into: string,
): Promise<OpenedStore | undefined> {
  if (!(await snapshotSqliteDatabase(location.file, into))) return undefined;
  return openSqliteStore(into);
}
