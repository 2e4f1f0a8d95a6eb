/** Authentication building blocks: each turns request material into a verdict, none touches HTTP. */
export {
  API_KEY_PREFIX,
  apiKeyHashesEqual,
  generateApiKey,
  hashApiKey,
  isApiKeyExpired,
  looksLikeApiKey,
  type GeneratedApiKey,
} from './api-keys.js';
export { parseAuthorization, type AuthorizationHeader, type InvalidAuthorizationReason } from './basic.js';
export { constantTimeEqual } from './constant-time.js';
export {
  HtpasswdFile,
  parseHtpasswd,
  type HtpasswdLogger,
  type HtpasswdOptions,
  type ParsedHtpasswd,
  type RejectedEntry,
  type ReloadOutcome,
} from './htpasswd.js';
export { SharedThrottle, type ThrottleOptions } from './throttle.js';
