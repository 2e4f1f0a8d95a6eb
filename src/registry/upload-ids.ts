/**
 * Upload ids that carry their session until its first byte. `POST /blobs/uploads/` writes nothing:
 * the id holds when it was issued, the digest algorithm and a random part, signed (HMAC-SHA256)
 * together with the repository by a key every process on the store shares. Any process can then
 * tell an id it issued, for this repository, from one it never did, without a read (issue 14:
 * a session record at POST and its deletion were two of a small push's writes per blob).
 *
 * Format: `<issued ms, 12 hex>-<random, 32 hex>-<sha256|sha512>-<signature, 32 hex>`, lowercase,
 * safe as a file name and in a URL. Ids of the form Berth issued before (UUIDs) are still
 * accepted while their session has a record.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { UploadAlgorithm } from '../meta/upload-sessions.js';

const SIGNED_ID = /^([0-9a-f]{12})-([0-9a-f]{32})-(sha256|sha512)-([0-9a-f]{32})$/;
const LEGACY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * How long an issued id opens a session that has not received a byte. A session with bytes lives
 * by its record instead (garbage collection expires it once idle); a tombstone outlives this, so
 * a finished id can never come back.
 */
export const UNTOUCHED_UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

export interface SignedUploadId {
  issuedAt: number;
  algorithm: UploadAlgorithm;
}

/** Whether `name` is an upload id of either form (garbage collection tells sessions from strays). */
export function isUploadId(name: string): boolean {
  return SIGNED_ID.test(name) || LEGACY_ID.test(name);
}

function signature(key: Uint8Array, repository: string, unsigned: string): Buffer {
  return createHmac('sha256', key).update(`${repository}\n${unsigned}`).digest().subarray(0, 16);
}

/** A new id for a session of `repository`, issued at `now`. */
export function issueUploadId(
  key: Uint8Array,
  repository: string,
  algorithm: UploadAlgorithm,
  now: number,
): string {
  const unsigned = `${now.toString(16).padStart(12, '0')}-${randomBytes(16).toString('hex')}-${algorithm}`;
  return `${unsigned}-${signature(key, repository, unsigned).toString('hex')}`;
}

/**
 * What a signed id says, if `key` signed it for `repository`; undefined for anything else (a legacy
 * id included: its session is known only by its record). The comparison is constant-time.
 */
export function readSignedUploadId(
  key: Uint8Array,
  repository: string,
  id: string,
): SignedUploadId | undefined {
  const match = SIGNED_ID.exec(id);
  if (match === null) return undefined;
  const [, issued, , algorithm, signed] = match as unknown as [
    string,
    string,
    string,
    UploadAlgorithm,
    string,
  ];
  const expected = signature(key, repository, id.slice(0, id.length - signed.length - 1));
  if (!timingSafeEqual(expected, Buffer.from(signed, 'hex'))) return undefined;
  return { issuedAt: parseInt(issued, 16), algorithm };
}

/** Whether `id` has the legacy (UUID) form. */
export function isLegacyUploadId(id: string): boolean {
  return LEGACY_ID.test(id);
}
