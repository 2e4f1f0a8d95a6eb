/**
 * The MetadataStore: every record Berth keeps between requests that every process must see, as a
 * bundle of small async ports named by what they hold. Modules receive the ports they need, never
 * a database handle; all SQL lives in `meta/` (`sqlite/` and `postgres/`, each port implemented by both).
 *
 * | port            | holds                                                          |
 * |-----------------|----------------------------------------------------------------|
 * | registryIndex   | repositories, manifests, tags, referrers, blob membership      |
 * | apiKeys         | API keys (hashes only)                                         |
 * | sessions        | browser sessions (hashes of their ids)                         |
 * | users           | groups as of each user's last interactive sign-in             |
 * | signIns         | OIDC sign-ins in progress                                      |
 * | pullTimes       | last pull per manifest (retention)                             |
 * | recentBlobs     | last store time per blob and repository (GC's grace)           |
 * | uiSummaries     | the web UI's per-repository summaries and manifest facts      |
 * | uploadSessions  | blob upload sessions: offset, parts, hash state, version       |
 * | throttles       | leaky buckets: password throttles, sign-in starts, rate limits |
 * | apiKeyGroups    | groups an admin gave service-account keys                      |
 * | userOrigins     | how each user last signed in (htpasswd or an OIDC provider)    |
 * | userPrefs       | search: stars and bookmarks per user and repository            |
 * | downloadCounts  | search: downloads and last pull per manifest and repository    |
 * | imageFacts      | search: facts derived once per manifest digest                 |
 * | cveScans        | vulnerability scanning: inventories and scans per digest       |
 *
 * The account records (apiKeys, apiKeyGroups, users, userOrigins, userPrefs, downloadCounts) also
 * have `exportAll()` and an idempotent `restore(rows)`: `berth migrate` carries them to another
 * store (`cli/migrate-accounts.ts`; contract in `account-records.contract.ts`).
 *
 * Token signing keys are deliberately not here (`auth/tokens/signing-keys.ts`). The Coordination
 * port (`coordination/`) is separate: it is about the moment, not the record, but its SQLite
 * implementation shares the database, so `openSqliteStore` returns both.
 */
import type { ApiKeyStore } from '../auth/store/api-keys.js';
import type { LoginStateStore } from '../auth/store/login-states.js';
import type { SessionStore } from '../auth/store/sessions.js';
import type { UserStore } from '../auth/store/users.js';
import type { Coordination } from '../coordination/coordination.js';
import type { PullTimes, RecentBlobTimes } from './pull-times.js';
import type { RegistryIndex } from './registry-index.js';
import type { UiSummaries } from './ui-summaries.js';
import type { UploadSessions } from './upload-sessions.js';
import type { ApiKeyGroups } from './api-key-groups.js';
import type { UserPrefsStore } from './user-prefs.js';
import type { DownloadCounts } from './download-counts.js';
import type { ImageFactsStore } from './image-facts.js';
import type { CveScanStore } from './cve-scans.js';
import type { UserOriginStore } from './user-origins.js';
import type { ThrottleBuckets } from './throttle-buckets.js';

export interface MetadataStore {
  readonly registryIndex: RegistryIndex;
  readonly apiKeys: ApiKeyStore;
  readonly sessions: SessionStore;
  readonly users: UserStore;
  readonly signIns: LoginStateStore;
  readonly pullTimes: PullTimes;
  readonly recentBlobs: RecentBlobTimes;
  readonly uiSummaries: UiSummaries;
  readonly uploadSessions: UploadSessions;
  /** Throttle and rate-limit counters every replica shares (`throttle-buckets.ts`). */
  readonly throttles: ThrottleBuckets;
  /** Service-account keys' groups (`berth keys`, the admin routes). */
  readonly apiKeyGroups: ApiKeyGroups;
  /** How each user last signed in (htpasswd or OIDC): offboarding of password users' keys. */
  readonly userOrigins: UserOriginStore;
  /** The search extension's stars and bookmarks. */
  readonly userPrefs: UserPrefsStore;
  /** The search extension's download counts. */
  readonly downloadCounts: DownloadCounts;
  /** JSON documents keyed by digest; the search extension fixes their type. */
  readonly imageFacts: ImageFactsStore<unknown>;
  /** Vulnerability scanning's records; the scanner fixes their types. */
  readonly cveScans: CveScanStore<unknown, unknown>;
  /** Resolves when the store answers a trivial query (readiness); rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A metadata store with the coordination that lives beside it. */
export interface OpenedStore {
  readonly meta: MetadataStore;
  readonly coordination: Coordination;
}
