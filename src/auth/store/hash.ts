import { createHash, randomBytes } from 'node:crypto';

/** SHA-256, lowercase hex: how random secrets (session ids, OIDC states) are stored and looked up. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A random secret of `bytes` bytes, base64url (256 bits by default). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
