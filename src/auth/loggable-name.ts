/**
 * User names as they may appear in logs. A client that swaps its fields (`-u zak_<key>:ci`) sends
 * a secret where the user name goes, and refusals log the attempted name: a name shaped like an
 * API key, a JWT or another long high-entropy string is replaced by a marker, and every name is
 * capped, so that neither the server log nor the audit log becomes a store of credentials.
 */

/** Longest user name logged; longer ones are cut and marked with `…`. */
export const MAX_LOGGED_NAME = 64;

export const REDACTED_NAME = '[redacted: shaped like a credential]';

const API_KEY = /^zak_/i;
const JWT = /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;
/** Token alphabets (hex, base64, base64url) with nothing a human name would carry (`.`, `@`, space). */
const TOKEN_ALPHABET = /^[A-Za-z0-9+/=_-]+$/;
/**
 * Hex of 20 characters or more: its alphabet caps the entropy at 4 bits/char, and a random sample
 * often measures below the threshold below, so hex is recognised by its alphabet alone (no human
 * name is 20 characters of digits and the letters a–f).
 */
const LONG_HEX = /^[0-9a-f]{20,}$/i;

/** Shannon entropy in bits per character. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Whether `name` looks like a key or token rather than a user name. */
export function looksLikeCredential(name: string): boolean {
  if (API_KEY.test(name) || JWT.test(name) || name.startsWith('eyJ')) return true;
  if (LONG_HEX.test(name) && /\d/.test(name) && /[a-f]/i.test(name)) return true;
  // 20 random base64 characters carry ~120 bits; real user names rarely exceed 3.5 bits/char.
  return (
    name.length >= 20 &&
    TOKEN_ALPHABET.test(name) &&
    entropy(name) > 3.5 &&
    /\d/.test(name) &&
    /[a-zA-Z]/.test(name)
  );
}

/** `name` fit for a log line: redacted when credential-shaped, capped at {@link MAX_LOGGED_NAME}. */
export function loggableUserName(name: string): string {
  if (looksLikeCredential(name)) return REDACTED_NAME;
  return name.length > MAX_LOGGED_NAME ? `${name.slice(0, MAX_LOGGED_NAME - 1)}…` : name;
}
