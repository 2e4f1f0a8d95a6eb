/** Errors a storage driver throws; the registry layer maps them onto OCI errors. */

export class PathNotFoundError extends Error {
  constructor(readonly path: string, options?: { cause?: unknown }) {
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
