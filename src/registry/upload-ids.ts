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
import { createHmac, createSecretKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
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

/**
 * Issues and reads the ids of one store's key. The key is imported once (an HMAC over a raw key
 * imports it on every call); the random part comes from `randomUUID`'s buffered entropy, a fifth
 * of `randomBytes`' cost per call: both showed in the push profile (issue 14).
 */
export class UploadIdSigner {
  readonly #key: KeyObject;

  constructor(key: Uint8Array) {
    this.#key = createSecretKey(key);
  }

  /** A new id for a session of `repository`, issued at `now`. */
  issue(repository: string, algorithm: UploadAlgorithm, now: number): string {
    const random = randomUUID().replaceAll('-', '');
    const unsigned = `${now.toString(16).padStart(12, '0')}-${random}-${algorithm}`;
    return `${unsigned}-${this.#sign(repository, unsigned).toString('hex')}`;
  }

  /**
   * What a signed id says, if this key signed it for `repository`; undefined for anything else (a
   * legacy id included: its session is known only by its record). The comparison is constant-time.
   */
  read(repository: string, id: string): SignedUploadId | undefined {
    const match = SIGNED_ID.exec(id);
    if (match === null) return undefined;
    const [, issued, , algorithm, signed] = match as unknown as [
      string,
      string,
      string,
      UploadAlgorithm,
      string,
    ];
    const expected = this.#sign(repository, id.slice(0, id.length - signed.length - 1));
    if (!timingSafeEqual(expected, Buffer.from(signed, 'hex'))) return undefined;
    return { issuedAt: parseInt(issued, 16), algorithm };
  }

  #sign(repository: string, unsigned: string): Buffer {
    return createHmac('sha256', this.#key).update(`${repository}\n${unsigned}`).digest().subarray(0, 16);
  }
}

/** Whether `id` has the legacy (UUID) form. */
export function isLegacyUploadId(id: string): boolean {
  return LEGACY_ID.test(id);
}
