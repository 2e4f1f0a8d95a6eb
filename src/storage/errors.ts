/** Errors a storage driver throws; the registry layer maps them onto OCI errors. */

export class PathNotFoundError extends Error {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`path not found: ${path}`, options);
    this.name = 'PathNotFoundError';
  }
}

export class InvalidPathError extends Error {
  constructor(readonly path: string) {
    super(`invalid storage path: ${JSON.stringify(path)}`);
    this.name = 'InvalidPathError';
  }
}

export function isNotFound(err: unknown): err is PathNotFoundError {
  return err instanceof PathNotFoundError;
}

/** A create-only write (`ifAbsent`) found something already at the path; nothing was written. */
export class AlreadyExistsError extends Error {
  constructor(readonly path: string) {
    super(`already exists: ${path}`);
    this.name = 'AlreadyExistsError';
  }
}

/** `completeParts` was given a part that is missing or whose etag is not the stored one. */
export class InvalidPartError extends Error {
  constructor(
    readonly path: string,
    readonly part: number,
  ) {
    super(`invalid part ${part} for ${path}`);
    this.name = 'InvalidPartError';
  }
}

/**
 * The backend is out of space (ENOSPC, EDQUOT, SQLITE_FULL, an object store's quota). Drivers
 * throw it so that the registry can answer "storage full" instead of taking it for a hang-up.
 */
export class StorageFullError extends Error {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`storage full writing ${path}`, options);
    this.name = 'StorageFullError';
  }
}

export function isAlreadyExists(err: unknown): err is AlreadyExistsError {
  return err instanceof AlreadyExistsError;
}

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Whether `err`, or any error in its cause chain, says the backend is out of space. */
export function isStorageFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof StorageFullError) return true;
    if (typeof e !== 'object') return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
