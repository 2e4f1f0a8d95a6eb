/** The auth module's records in the metadata database: users, API keys, sessions, sign-ins, keys. */
export { migrateAuthTables } from './schema.js';
export { UserStore } from './users.js';
export { ApiKeyStore, type ApiKeyRecord, type NewApiKey } from './api-keys.js';
export { SessionStore, type SessionRecord } from './sessions.js';
export { LoginStateStore, type LoginState } from './login-states.js';
export { loadSigningKey, type SigningKey } from './signing-keys.js';
export { randomSecret, sha256Hex } from './hash.js';
