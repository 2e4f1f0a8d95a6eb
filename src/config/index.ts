/**
 * Berth's configuration: zot's file format, validated by one zod schema (`schema/root.ts`).
 *
 * ```ts
 * const { config, warnings } = await loadConfigFile('/etc/berth/config.json');
 * ```
 */
export { ConfigError, formatKeyPath, type ConfigProblem, type KeyPath } from './errors.js';
export { loadConfigFile, parseConfig, type Config, type LoadResult, type ParseOptions } from './load.js';
export { defaultConfig, DEFAULT_PORT } from './defaults.js';
export { parseDuration, formatDuration } from './duration.js';
export { compileGoRegExp, globProblem } from './patterns.js';
export { IMPLEMENTED_KEYS, NOT_IMPLEMENTED_WITHIN } from './implemented.js';
export type { RegistryCredentials } from './secrets.js';
export { configSchema, DIST_SPEC_VERSION, LOG_LEVELS, COMPAT_MODES, type LogLevel } from './schema/root.js';
export {
  ACTIONS,
  type Action,
  type AccessControlConfig,
  type PolicyGroup,
  type Policy,
} from './schema/access-control.js';
export {
  OPENID_PROVIDERS,
  OAUTH2_PROVIDERS,
  type AuthConfig,
  type OpenIDConfig,
  type OpenIDProviderConfig,
  type LDAPConfig,
} from './schema/auth.js';
export { DEFAULT_METRICS_PATH, type ExtensionsConfig } from './schema/extensions.js';
export {
  DEFAULT_SYNC_TIMEOUT_MS,
  type SyncConfig,
  type SyncRegistryConfig,
  type SyncContentConfig,
} from './schema/sync.js';
export {
  DEFAULT_GC_DELAY_MS,
  DEFAULT_GC_INTERVAL_MS,
  type StorageConfig,
  type SubPathStorageConfig,
  type RetentionConfig,
  type RetentionPolicy,
} from './schema/storage.js';
