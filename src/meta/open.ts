/**
 * Opens the metadata store the configuration asks for: the embedded SQLite database beside the
 * data (the default, one machine) or PostgreSQL (replicas on many machines). The one place that
 * picks; callers turn the config into a location (`config/schema/postgres.ts` says when it is
 * PostgreSQL) and never name an implementation.
 */
import { openPostgresStore } from './postgres/store.js';
import { openSqliteStore } from './sqlite/store.js';
import type { OpenedStore } from './store.js';
import type { UploadSessions } from './upload-sessions.js';

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

/**
 * `uploadSessions`: PostgreSQL's today; SQLite's joins when the upload service on the UploadSessions
 * port (branch h2-uploads) is merged, and the registry then takes it from here.
 */
export async function openMetadataStore(
  location: MetadataLocation,
): Promise<OpenedStore & { uploadSessions?: UploadSessions }> {
  if (location.kind === 'sqlite') {
    return openSqliteStore(location.file, location.pragmas ? { pragmas: location.pragmas } : {});
  }
  const { meta, coordination, uploadSessions } = await openPostgresStore({
    url: location.url,
    ...(location.schema !== undefined ? { schema: location.schema } : {}),
    ...(location.maxConnections !== undefined ? { poolSize: location.maxConnections } : {}),
    ...(location.onError ? { onError: location.onError } : {}),
  });
  return { meta, coordination, uploadSessions };
}
