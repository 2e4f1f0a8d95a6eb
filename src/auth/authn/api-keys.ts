/**
 * API keys in zot's format: `zak_` followed by 32 lowercase hex digits, used as the basic-auth password
 * with the owner's user name. Only `sha256(<32 hex>)` (hex) is ever stored, as zot stores it; the key
 * itself is shown once, at creation. Storage, expiry bookkeeping and the owner check live with the
 * metadata database; this module holds the pure parts.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'zak_';

const API_KEY_FORMAT = /^zak_[0-9a-f]{32}$/;
const HASH_FORMAT = /^[0-9a-f]{64}$/;

export interface GeneratedApiKey {
  /** The secret, `zak_` + 32 hex: return it to the user once, never store or log it. */
  readonly key: string;
  /** What to store and look keys up by: sha256 of the 32 hex digits, lowercase hex. */
  readonly hash: string;
  /** The key's public identifier (zot's `uuid`), used to list and revoke it. */
  readonly id: string;
}

/**
 * A new key from 128 random bits (zot uses a UUIDv4, 122 random bits, in the same 32-hex shape).
 */
export function generateApiKey(): GeneratedApiKey {
  const secret = randomBytes(16).toString('hex');
  const key = API_KEY_PREFIX + secret;
  return { key, hash: sha256Hex(secret), id: randomUUID() };
}

/**
 * Whether a basic-auth password should be tried as an API key. Checks the prefix only (zot's test), so
 * that a malformed `zak_` password is refused as a bad key rather than tried as a password.
 */
export function looksLikeApiKey(password: string): boolean {
  return password.startsWith(API_KEY_PREFIX);
}

/** The stored hash for a key, or undefined when `key` is not `zak_` + 32 lowercase hex digits. */
export function hashApiKey(key: string): string | undefined {
  if (!API_KEY_FORMAT.test(key)) return undefined;
  return sha256Hex(key.slice(API_KEY_PREFIX.length));
}

/**
 * Constant-time equality of two stored hashes (64 lowercase hex digits each). False when either is
 * not a well-formed hash. Use it when a key record is found by something other than its hash, or to
 * re-check a record fetched by hash before trusting it.
 */
export function apiKeyHashesEqual(a: string, b: string): boolean {
  if (!HASH_FORMAT.test(a) || !HASH_FORMAT.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/**
 * Whether a key expiring at `expiresAt` is expired at `now`; undefined means it never expires (zot
 * stores Go's zero time for that). A key is valid up to and including its expiry instant, as in zot.
 */
export function isApiKeyExpired(expiresAt: Date | undefined, now: Date): boolean {
  return expiresAt !== undefined && now.getTime() > expiresAt.getTime();
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
