/**
 * Opens the SQLite metadata store (`<root>/_berth/meta.db`, WAL mode) with every port on one
 * handle, and the Coordination port on the same file. Several processes may open one file: SQLite
 * serialises their writes, WAL lets reads run beside them, and `data_version` tells each handle
 * when another wrote.
 */
import type { OpenedStore, MetadataStore } from '../store.js';
import { openDatabase } from '../database.js';
import { SqliteRegistryIndex } from './registry-index.js';
import { migrateAuthTables } from './auth-schema.js';
import { SqliteApiKeys } from './auth-api-keys.js';
import { SqliteSessions } from './auth-sessions.js';
import { SqliteUsers } from './auth-users.js';
import { SqliteLoginStates } from './auth-login-states.js';
import { SqlitePullTimes, SqliteRecentBlobs } from './pull-times.js';
import { SqliteUiSummaries } from './ui-summaries.js';
import { SqliteCoordination } from './coordination.js';
import { SqliteUploadSessions } from './upload-sessions.js';
import { writeBatchOf } from './write-batch.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { SqliteThrottleBuckets } from './throttle-buckets.js';
import { SqliteApiKeyGroups } from './api-key-groups.js';
import { SqliteUserOrigins } from './user-origins.js';
import { SqliteUserPrefs } from './user-prefs.js';
import { SqliteDownloadCounts } from './download-counts.js';
import { SqliteImageFacts } from './image-facts.js';
import { SqliteCveScans } from './cve-scans.js';
import type { QueryOptions } from '../ui-summaries.js';

export interface SqliteStoreOptions {
  /** The UI summaries' clock and bulk threshold (tests). */
  ui?: QueryOptions;
  /** Runs on the raw handle once migrated (tests: `max_page_count = 1` makes the database full). */
  pragmas?: string[];
  /**
   * Checkpoint the WAL on a thread of its own (`wal-checkpointer.ts`); default true for a file.
   * Off, the main handle checkpoints inside commits as SQLite does by default.
   */
  checkpointThread?: boolean;
  /** Failures the store recovers from (a failed checkpoint): to log, never thrown. */
  onError?: (err: Error) => void;
}

export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): OpenedStore {
  const db = openDatabase(file);
  try {
    const registryIndex = new SqliteRegistryIndex(db);
    migrateAuthTables(db);
    const coordination = new SqliteCoordination(db);
    let closed = false;
    const ping = db.prepare('SELECT 1');
    let checkpointer: WalCheckpointer | undefined;
    const meta: MetadataStore = {
      registryIndex,
      apiKeys: new SqliteApiKeys(db),
      sessions: new SqliteSessions(db),
      users: new SqliteUsers(db),
      signIns: new SqliteLoginStates(db),
      pullTimes: new SqlitePullTimes(db),
      recentBlobs: new SqliteRecentBlobs(db),
      uiSummaries: new SqliteUiSummaries(db, options.ui),
      uploadSessions: new SqliteUploadSessions(db),
      throttles: new SqliteThrottleBuckets(db),
      apiKeyGroups: new SqliteApiKeyGroups(db),
      userOrigins: new SqliteUserOrigins(db),
      userPrefs: new SqliteUserPrefs(db),
      downloadCounts: new SqliteDownloadCounts(db),
      imageFacts: new SqliteImageFacts(db),
      cveScans: new SqliteCveScans(db),
      ping: async () => {
        if (closed || !db.open) throw new Error('metadata store is closed');
        ping.get();
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await coordination.close().catch(() => undefined);
        // First: the main handle, closing last, then checkpoints and removes the log itself.
        await checkpointer?.stop();
        // Writes queued in this turn are applied, not lost (their callers are waiting for them).
        writeBatchOf(db).flush();
        db.close();
      },
    };
    // After every migration, so that a size limit applies to what the server writes, not to setup.
    for (const pragma of options.pragmas ?? []) db.pragma(pragma);
    // Last: nothing after it can fail and leave the thread's connection open.
    if (file !== ':memory:' && options.checkpointThread !== false) {
      checkpointer = new WalCheckpointer(db, file, options.onError ? { onError: options.onError } : {});
    }
    return { meta, coordination };
  } catch (err) {
    db.close();
    throw err;
  }
}
