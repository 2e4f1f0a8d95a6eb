/**
 * The auth module's tables in the metadata database (`migrateModule(db, 'auth', …)`). Secrets are
 * never stored as they are: API keys and session ids only as SHA-256 hashes, so a copy of the
 * database (a backup, a stolen disk) holds nothing that signs anybody in. The token signing secret
 * is not here either: it lives in a 0600 key file beside the database (`auth/tokens/signing-keys.ts`).
 */
import { migrateModule, type Db } from '../database.js';

/** Each entry upgrades the auth tables by one version; never edit a released entry, append. */
const AUTH_MIGRATIONS: string[] = [
  `
  -- One row per user who signed in interactively (OIDC, or a password through the web UI): the
  -- groups their identity provider asserted then, which their API keys carry.
  CREATE TABLE auth_users (
    username TEXT PRIMARY KEY,
    groups TEXT NOT NULL DEFAULT '[]',
    signed_in_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE auth_api_keys (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    label TEXT NOT NULL,
    scopes TEXT,
    creator_ua TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER
  );
  CREATE INDEX auth_api_keys_owner ON auth_api_keys (owner);

  CREATE TABLE auth_sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    provider TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX auth_sessions_expiry ON auth_sessions (expires_at);

  -- An OIDC sign-in in progress, between the redirect to the provider and the callback.
  CREATE TABLE auth_login_states (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    callback TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX auth_login_states_expiry ON auth_login_states (expires_at);

  -- HMAC secrets that sign registry bearer tokens, so tokens outlive a restart.
  CREATE TABLE auth_signing_keys (
    id TEXT PRIMARY KEY,
    secret BLOB NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // The signing secret moved out of the database (a backup of it let anyone mint admin tokens).
  // Tokens it signed are short-lived; clients fetch new ones at their next challenge.
  `DROP TABLE auth_signing_keys;`,
];

/** Creates or upgrades the auth tables. Idempotent. */
export function migrateAuthTables(db: Db): void {
  migrateModule(db, 'auth', AUTH_MIGRATIONS);
}
