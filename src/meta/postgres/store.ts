/**
 * Opens the PostgreSQL metadata store: every MetadataStore port and the Coordination port on one
 * `pg` Pool, after migrating the schema (safe when replicas start at once: `database.ts`), plus the
 * LISTEN connection that wakes lock waiters (`notifications.ts`). Any number of Berth processes on
 * any number of machines may open one database: what they must agree on is in its rows.
 */
import type { MetadataStore, OpenedStore } from '../store.js';
import type { QueryOptions } from '../ui-summaries.js';
import {
  PostgresApiKeys,
  PostgresLoginStates,
  PostgresSessions,
  PostgresUsers,
  AUTH_MIGRATIONS,
} from './auth.js';
import { ChangeCounter, CHANGES_MIGRATIONS } from './changes.js';
import { COORDINATION_MIGRATIONS, PostgresCoordination } from './coordination.js';
import { migrate, openPool, type Migrations, type Pool } from './database.js';
import { Notifications } from './notifications.js';
import { GC_MIGRATIONS, PostgresPullTimes, PostgresRecentBlobs } from './pull-times.js';
import { PostgresRegistryIndex, REGISTRY_INDEX_MIGRATIONS } from './registry-index.js';
import { PostgresUiSummaries, UI_MIGRATIONS } from './ui-summaries.js';
import { PostgresUploadSessions, UPLOAD_SESSION_MIGRATIONS } from './upload-sessions.js';
import { PostgresThrottleBuckets, THROTTLE_MIGRATIONS } from './throttle-buckets.js';
import { KEY_GRANT_MIGRATIONS, PostgresApiKeyGroups } from './api-key-groups.js';
import { PostgresUserOrigins, USER_ORIGIN_MIGRATIONS } from './user-origins.js';
import { PostgresUserPrefs, USER_PREFS_MIGRATIONS } from './user-prefs.js';
import { DOWNLOAD_COUNT_MIGRATIONS, PostgresDownloadCounts } from './download-counts.js';
import { IMAGE_FACTS_MIGRATIONS, PostgresImageFacts } from './image-facts.js';
import { CVE_SCAN_MIGRATIONS, PostgresCveScans } from './cve-scans.js';

/** Every module's schema, in the order they are created (the UI's tables read the index's). */
export const POSTGRES_MIGRATIONS: Migrations[] = [
  REGISTRY_INDEX_MIGRATIONS,
  CHANGES_MIGRATIONS,
  AUTH_MIGRATIONS,
  GC_MIGRATIONS,
  UI_MIGRATIONS,
  COORDINATION_MIGRATIONS,
  UPLOAD_SESSION_MIGRATIONS,
  THROTTLE_MIGRATIONS,
  KEY_GRANT_MIGRATIONS,
  USER_ORIGIN_MIGRATIONS,
  USER_PREFS_MIGRATIONS,
  DOWNLOAD_COUNT_MIGRATIONS,
  IMAGE_FACTS_MIGRATIONS,
  CVE_SCAN_MIGRATIONS,
];

export interface PostgresStoreOptions {
  /** postgres://user:password@host:5432/database */
  url: string;
  /** The schema to keep Berth's tables in (default `public`; tests use one per run). */
  schema?: string;
  /** Connections per process (default 10). */
  poolSize?: number;
  /** The UI summaries' clock (tests). */
  ui?: QueryOptions;
  /** Connection errors the store recovers from by itself (logged by the caller, never thrown). */
  onError?: (err: Error) => void;
}

export interface OpenedPostgresStore extends OpenedStore {
  /** The pool every port uses (tests). */
  readonly pool: Pool;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<OpenedPostgresStore> {
  const schema = options.schema ?? 'public';
  const pool = openPool({
    url: options.url,
    schema,
    ...(options.poolSize !== undefined ? { max: options.poolSize } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const notifications = new Notifications({
    url: options.url,
    schema,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  try {
    await migrate(pool, POSTGRES_MIGRATIONS, schema);
    await notifications.start();
  } catch (err) {
    await notifications.close();
    await pool.end().catch(() => undefined);
    throw err;
  }
  const changes = new ChangeCounter(pool);
  const coordination = new PostgresCoordination(pool, notifications);
  let closed = false;
  const meta: MetadataStore = {
    registryIndex: new PostgresRegistryIndex(pool, changes),
    apiKeys: new PostgresApiKeys(pool),
    sessions: new PostgresSessions(pool),
    users: new PostgresUsers(pool),
    signIns: new PostgresLoginStates(pool),
    pullTimes: new PostgresPullTimes(pool),
    recentBlobs: new PostgresRecentBlobs(pool),
    uiSummaries: new PostgresUiSummaries(pool, changes, options.ui),
    uploadSessions: new PostgresUploadSessions(pool),
    throttles: new PostgresThrottleBuckets(pool),
    apiKeyGroups: new PostgresApiKeyGroups(pool),
    userOrigins: new PostgresUserOrigins(pool),
    userPrefs: new PostgresUserPrefs(pool),
    downloadCounts: new PostgresDownloadCounts(pool),
    imageFacts: new PostgresImageFacts(pool),
    cveScans: new PostgresCveScans(pool),
    ping: async () => {
      if (closed) throw new Error('metadata store is closed');
      await pool.query('SELECT 1');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await coordination.close().catch(() => undefined);
      await notifications.close();
      await pool.end();
    },
  };
  return { meta, coordination, pool };
}
