/**
 * The byte-level storage driver: everything Berth stores goes through this interface, so that an
 * object-store driver can replace the filesystem one without touching registry logic.
 *
 * Paths are driver-relative, `/`-separated, without a leading slash, and never contain `.` or `..`
 * components (drivers reject them with InvalidPathError). Every driver must pass the shared
 * contract suite in `contract.ts`.
 */
import type { Readable, Writable } from 'node:stream';

export interface FileInfo {
  path: string;
  size: number;
  modTime: Date;
  isDirectory: boolean;
}

/**
 * An append-only writer. Bytes written are not guaranteed durable until `commit()`; `cancel()`
 * discards the file. The writer's `stream` is a Writable so that request bodies can be piped
 * straight through a hasher into it.
 */
export interface FileWriter {
  readonly stream: Writable;
  /** Bytes in the file: what was there when opened in append mode plus what was written. */
  size(): number;
  /** Flushes and makes the content durable, then closes. */
  commit(): Promise<void>;
  /** Closes without making durable (the bytes stay; used when a client pauses an upload). */
  close(): Promise<void>;
  /** Closes and deletes the file. */
  cancel(): Promise<void>;
}

export interface ReadOptions {
  offset?: number;
  /** Bytes to read from `offset`; to the end when absent. */
  length?: number;
}

export interface CopyOptions extends ReadOptions {
  /** Called once the file is open, before the first byte is written (a caller sends headers here). */
  onOpen?: () => void;
}

export interface StorageDriver {
  readonly name: string;
  /** Reads a small file whole (manifests, index.json). */
  getContent(path: string): Promise<Buffer>;
  /** Writes a small file atomically: readers see the old content or the new, never a mix. */
  putContent(path: string, data: Uint8Array): Promise<void>;
  reader(path: string, options?: ReadOptions): Promise<Readable>;
  /**
   * Optional fast path for serving: writes the file (or a range of it) into `destination` and
   * resolves when the last byte was handed over. Drivers implement it when they can do better
   * than `reader()` piped into the destination; callers fall back to that otherwise. Throws
   * PathNotFoundError before writing anything when the file is missing.
   */
  copyTo?(path: string, destination: Writable, options?: CopyOptions): Promise<void>;
  writer(path: string, options: { append: boolean }): Promise<FileWriter>;
  /** Throws PathNotFoundError when nothing is at `path`. */
  stat(path: string): Promise<FileInfo>;
  /** Names of the direct children of a directory; [] when it does not exist. */
  list(path: string): Promise<string[]>;
  /** Moves a file into place atomically, replacing what is there. */
  move(source: string, destination: string): Promise<void>;
  /** Deletes a file or a directory tree; no error when it does not exist. */
  delete(path: string): Promise<void>;
  /**
   * Makes `destination` share `source`'s content without copying when the backend can (a hard
   * link). Returns false when it cannot, and the caller copies instead.
   */
  link(source: string, destination: string): Promise<boolean>;
}

/** Joins driver-relative path parts. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}
