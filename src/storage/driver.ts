/**
 * The byte-level storage driver: everything Berth stores goes through this interface, so that an
 * object-store driver (S3) can replace the filesystem one without touching registry logic.
 *
 * Paths are driver-relative, `/`-separated, without a leading slash, and never contain `.` or `..`
 * components (drivers reject them with InvalidPathError). Every driver must pass the shared
 * contract suite in `contract.ts`.
 *
 * The interface is shaped by what an object store can promise, so that nothing above it depends
 * on a filesystem's extras:
 * - no reopen-and-append: a file is written whole (`writer`, `putContent`) or assembled from
 *   numbered parts (`startParts` … `completeParts`), which is S3's multipart upload;
 * - an object becomes visible whole, at commit, or not at all; concurrent writers of one path
 *   each land atomically and the last commit wins (never a mix of both);
 * - create-if-absent (`ifAbsent`) is the only compare-and-swap a driver offers (S3 `If-None-Match: *`);
 * - `modTime` is informational: correctness never depends on it (sessions and ages live in the
 *   metadata store); hard links are an optional fast path (`link` may answer false);
 * - listings are paginated (`listPage`), directories are only prefixes of other paths, and a
 *   zero-byte object is an object like any other.
 */
import type { Readable, Writable } from 'node:stream';

export interface FileInfo {
  path: string;
  size: number;
  /** Last write as the backend reports it. Informational only: never rely on it for correctness. */
  modTime: Date;
  /** True when `path` is only a prefix of other paths (a folder). */
  isDirectory: boolean;
}

/**
 * A writer for one whole file. Nothing is visible at its path until `commit()` resolves; then the
 * whole content is, durably (fsynced / acknowledged by the object store). `cancel()` discards it.
 * `stream` is a Writable so that request bodies can be piped straight through a hasher into it.
 */
export interface FileWriter {
  readonly stream: Writable;
  /** Bytes written to `stream` so far. */
  size(): number;
  /**
   * Ends the stream if the caller has not, makes the content durable and visible at the path
   * (replacing what was there). With `ifAbsent`, throws AlreadyExistsError instead of replacing
   * an existing file (the written bytes are then discarded).
   */
  commit(): Promise<void>;
  /** Discards what was written; the path is left as it was. Safe to call after a failed commit. */
  cancel(): Promise<void>;
}

export interface WriteOptions {
  /** Create only: commit throws AlreadyExistsError when something already exists at the path. */
  ifAbsent?: boolean;
}

export interface PutOptions {
  /** Create only: throws AlreadyExistsError when something already exists at the path. */
  ifAbsent?: boolean;
  /**
   * Waited for before the content becomes visible: a file that must not appear before another
   * one (an index.json before the manifest it lists) is written and made durable meanwhile, so
   * the two writes overlap instead of following each other. When it rejects, nothing becomes
   * visible and putContent rejects with its reason.
   */
  after?: Promise<unknown>;
}

/**
 * One stored part of a multipart upload, as `writePart` returns it. Callers persist these (an
 * upload session record) and hand them back, in order, to `completeParts`; any process may do so.
 */
export interface PartInfo {
  /** 1-based part number, as given to `writePart`; numbers may have gaps, order is by number. */
  number: number;
  /** Bytes in the part. */
  size: number;
  /**
   * Opaque driver token identifying exactly this write of the part (S3: the ETag, or several
   * backend parts' ETags encoded together; filesystem: a unique file name). A part number written
   * twice yields two different tokens, and `completeParts` refuses a token that is not the stored one.
   */
  etag: string;
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

export interface ListOptions {
  /** Only names strictly after this one (byte order): the `next` of the previous page. */
  after?: string;
  /** Page size; a driver may return fewer (S3 returns at most 1,000). Default: the driver's. */
  limit?: number;
}

export interface ListPage {
  /** Names (not paths) of direct children, files and folders alike, in byte order. */
  names: string[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

export interface StorageDriver {
  readonly name: string;

  /** Reads a small file whole (manifests, index.json). */
  getContent(path: string): Promise<Buffer>;
  /**
   * Writes a small file atomically and durably: readers see the old content or the new, never a
   * mix. With `ifAbsent`, throws AlreadyExistsError when the path exists (and writes nothing).
   */
  putContent(path: string, data: Uint8Array, options?: PutOptions): Promise<void>;
  /** Throws PathNotFoundError (before any byte) when the file is missing. */
  reader(path: string, options?: ReadOptions): Promise<Readable>;
  /**
   * Optional fast path for serving: writes the file (or a range of it) into `destination` and
   * resolves when the last byte was handed over. Drivers implement it when they can do better
   * than `reader()` piped into the destination; callers fall back to that otherwise. Throws
   * PathNotFoundError before writing anything when the file is missing. A driver may refill a
   * chunk's memory once the destination has called that chunk's write back (both drivers reuse
   * their read buffers so): a destination that keeps chunks past that (a Transform queuing them)
   * must copy them.
   */
  copyTo?(path: string, destination: Writable, options?: CopyOptions): Promise<void>;
  /** A writer for a whole new file (see FileWriter: visible only at commit, atomically). */
  writer(path: string, options?: WriteOptions): Promise<FileWriter>;

  /**
   * Multipart upload, resumable across requests and processes (S3 multipart upload). Starts one
   * whose result will be the file at `path`, and returns its opaque upload id. Parts are written
   * with `writePart`, each durable once it resolves, then assembled with `completeParts` or
   * dropped with `abortParts`. Nothing is visible at `path` before `completeParts` resolves.
   */
  startParts(path: string): Promise<string>;
  /**
   * Stores part `number` (1 ≤ number ≤ 10,000) from `body` and returns its PartInfo once durable.
   * Parts may have any size, including 0: a driver whose backend has a minimum part size (S3:
   * 5 MiB except the last) reconciles that itself (buffering across backend parts, or
   * re-assembling small parts in `completeParts`). Writing a number again stores a new version
   * with a new etag; concurrent writes of one number never corrupt each other.
   * Throws PathNotFoundError when the upload is unknown (aborted or completed).
   */
  writePart(path: string, uploadId: string, number: number, body: Readable): Promise<PartInfo>;
  /**
   * Assembles `parts` (ascending numbers; an empty list makes a zero-byte file) into the file at
   * `path`, atomically and durably, replacing what is there, and releases the upload's storage
   * (parts not listed are dropped). Throws PathNotFoundError when the upload is unknown, and
   * InvalidPartError when a listed part is missing or its etag is not the stored one.
   */
  completeParts(path: string, uploadId: string, parts: PartInfo[]): Promise<void>;
  /** Drops the upload and every part written to it; no error when it is already gone. */
  abortParts(path: string, uploadId: string): Promise<void>;

  /** Throws PathNotFoundError when nothing is at `path` (neither a file nor a prefix of one). */
  stat(path: string): Promise<FileInfo>;
  /**
   * One page of the names of the direct children of a folder, in byte order; an empty page for a
   * missing folder. Callers walk large folders page by page.
   */
  listPage(path: string, options?: ListOptions): Promise<ListPage>;
  /** All names of the direct children (every page); [] when the folder does not exist. */
  list(path: string): Promise<string[]>;
  /** Moves a file into place atomically, replacing what is there (S3: copy, then delete). */
  move(source: string, destination: string): Promise<void>;
  /** Deletes a file or a folder tree; no error when it does not exist. */
  delete(path: string): Promise<void>;
  /**
   * Optional fast path: makes `destination` share `source`'s content without copying (a hard
   * link; S3: a server-side copy). Returns false when it cannot, and the caller copies instead.
   * Throws PathNotFoundError when `source` is missing.
   */
  link(source: string, destination: string): Promise<boolean>;
  /**
   * Optional (object stores): a time-limited URL a client can GET (or HEAD) the file from directly,
   * for redirecting blob downloads (`storage.redirectBlobURL`).
   */
  presignedUrl?(path: string, options?: { method?: 'GET' | 'HEAD'; expiresIn?: number }): Promise<string>;
  /**
   * Optional (object stores): aborts the backend's multipart uploads started before `cutoff` that
   * were never completed (a process died mid-write); returns how many. Garbage collection calls it.
   */
  abortStaleMultipartUploads?(cutoff: Date): Promise<number>;
}

/** Joins driver-relative path parts. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** Every name in a folder, page by page: drivers implement `list` with this over `listPage`. */
export async function listAllPages(driver: Pick<StorageDriver, 'listPage'>, path: string): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await driver.listPage(path, after === undefined ? {} : { after });
    names.push(...page.names);
    if (page.next === undefined) return names;
    after = page.next;
  }
}
