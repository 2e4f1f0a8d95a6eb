/**
 * The error catalogue: every code the OCI Distribution spec defines, plus Berth's own codes for the
 * cases the spec's table folds together (an out-of-order chunk, an unsupported media type, an
 * unreachable upstream...). Registry code throws `RegistryError` with the code that names its case;
 * only `http/respond.ts` decides the status each code is answered with, in one table.
 *
 * Berth's own codes go out on the wire as the spec code their case belongs to (`wire`), so clients
 * that read the body see only the spec's vocabulary: an out-of-order chunk is `BLOB_UPLOAD_INVALID`
 * (with its own status, 416), as the conformance suite and Distribution have it.
 */

interface CodeEntry {
  readonly message: string;
  /** The spec code sent in the body; the code itself when absent. */
  readonly wire?: SpecErrorCode;
}

const SPEC_CODES = {
  BLOB_UNKNOWN: { message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { message: 'manifest unknown to registry' },
  NAME_INVALID: { message: 'invalid repository name' },
  NAME_UNKNOWN: { message: 'repository name not known to registry' },
  SIZE_INVALID: { message: 'provided length did not match content length' },
  UNAUTHORIZED: { message: 'authentication required' },
  DENIED: { message: 'requested access to the resource is denied' },
  UNSUPPORTED: { message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { message: 'too many requests' },
  // Not in the spec's table: the code for failures that are ours, never the client's.
  UNKNOWN: { message: 'unknown error' },
} as const satisfies Record<string, CodeEntry>;

export type SpecErrorCode = keyof typeof SPEC_CODES;

export const ERROR_CODES = {
  ...SPEC_CODES,
  /** A request that is malformed in a way no spec code names (a query parameter, a form field). */
  BAD_REQUEST: { message: 'bad request', wire: 'UNSUPPORTED' },
  /** A path that names no endpoint. */
  NOT_FOUND: { message: 'not found', wire: 'NAME_UNKNOWN' },
  /** A chunk that does not start where the upload stands. */
  RANGE_NOT_SATISFIABLE: { message: 'requested range not satisfiable', wire: 'BLOB_UPLOAD_INVALID' },
  /** A manifest whose media type Berth does not store. */
  UNSUPPORTED_MEDIA_TYPE: { message: 'unsupported media type', wire: 'MANIFEST_INVALID' },
  /** A body over the size Berth reads into memory (a manifest, a form). */
  TOO_LARGE: { message: 'request body too large', wire: 'SIZE_INVALID' },
  /** More `?tag=` parameters on one manifest push than Berth takes. */
  TOO_MANY_TAGS: { message: 'too many tags in one push', wire: 'MANIFEST_INVALID' },
  /** A delete of a manifest or blob that another manifest still references. */
  REFERENCED: { message: 'content is referenced', wire: 'DENIED' },
  /** The pull-through upstream failed and nothing is cached. */
  UPSTREAM_UNAVAILABLE: { message: 'upstream registry unavailable', wire: 'UNKNOWN' },
  /** The pull-through upstream did not answer in time and nothing is cached. */
  UPSTREAM_TIMEOUT: { message: 'upstream registry timed out', wire: 'UNKNOWN' },
  /** A service Berth depends on (an OpenID provider) cannot be reached right now. */
  UNAVAILABLE: { message: 'service unavailable', wire: 'UNKNOWN' },
  /** The storage is full (ENOSPC): the write failed, nothing was stored. */
  STORAGE_FULL: { message: 'insufficient storage', wire: 'UNKNOWN' },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The spec code a code goes out as. */
export function wireCode(code: ErrorCode): SpecErrorCode {
  const entry: CodeEntry = ERROR_CODES[code];
  return entry.wire ?? (code as SpecErrorCode);
}

export interface RegistryErrorOptions {
  detail?: unknown;
  cause?: unknown;
}

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;

  constructor(code: ErrorCode, message?: string, options: RegistryErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.detail = options.detail;
  }

  /** The body entry: the spec code, the message, the detail. */
  toJSON(): { code: SpecErrorCode; message: string; detail?: unknown } {
    const code = wireCode(this.code);
    return this.detail === undefined
      ? { code, message: this.message }
      : { code, message: this.message, detail: this.detail };
  }
}

export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError;
}

/** The spec's error envelope. */
export function errorBody(errors: RegistryError[]): string {
  return JSON.stringify({ errors: errors.map((e) => e.toJSON()) });
}
