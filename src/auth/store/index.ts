/**
 * The auth module's record ports (users, API keys, sessions, sign-in states), part of the
 * MetadataStore (`meta/store.ts`); their SQL lives in `meta/sqlite/auth-*.ts`. The token signing
 * keys are not records: `auth/tokens/signing-keys.ts`.
 */
export type { UserStore, UserRecord } from './users.js';
export type { ApiKeyStore, ApiKeyRecord, NewApiKey, StoredApiKey } from './api-keys.js';
export type { SessionStore, SessionRecord } from './sessions.js';
export type { LoginStateStore, LoginState } from './login-states.js';
export { randomSecret, sha256Hex } from './hash.js';
