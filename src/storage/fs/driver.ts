import { closeSync, createReadStream, createWriteStream, statSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { FolderSync } from './folder-sync.js';
import {
  closeQuietly,
  fsyncFd,
  isCode,
  linkCreating,
  openFd,
  renameCreating,
  tempName,
  withFolder,
  writeAll,
} from './file-ops.js';
import { finished, Readable, type Writable } from 'node:stream';
import {
  listAllPages,
  type CopyOptions,
  type FileInfo,
  type FileWriter,
  type ListOptions,
  type ListPage,
  type PartInfo,
  type PutOptions,
  type ReadOptions,
  type StorageDriver,
  type WriteOptions,
} from '../driver.js';
import {
  AlreadyExistsError,
  InvalidPartError,
  InvalidPathError,
  PathNotFoundError,
  StorageFullError,
} from '../errors.js';

/** Chunk size for copyTo: large enough for few syscalls, small enough for many concurrent pulls. */
const COPY_CHUNK = 512 * 1024;
const DEFAULT_PAGE = 1000;
/** Folder suffix holding a multipart upload's parts, beside the file they will become. */
const PARTS_SUFFIX = '.parts';

/** Driver errors for the node errors that have a meaning above the driver. */
function translate(err: unknown, p: string): unknown {
  if (isCode(err, 'ENOENT', 'ENOTDIR')) return new PathNotFoundError(p, { cause: err });
  if (isCode(err, 'ENOSPC', 'EDQUOT')) return new StorageFullError(p, { cause: err });
  return err;
}

/**
 * The local filesystem driver. A file becomes visible by writing a temporary sibling, fsyncing it
 * and renaming it over the target (rename is atomic on POSIX within one filesystem); create-only
 * writes link the temporary file to the target instead, which fails when the target exists.
 * Multipart uploads keep each part as its own file in `<path>.parts/<upload id>/`, named uniquely
 * per write, so concurrent writers of one part never share a file.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly root: string;
  /** Whether to fsync files before they become visible (`storage.commit` can only make it stricter). */
  private readonly durable: boolean;
  /** Folder fsyncs after renames and links (folder-sync.ts); none when not durable. */
  private readonly folders: FolderSync | undefined;

  constructor(root: string, options: { durable?: boolean } = {}) {
    this.root = path.resolve(root);
    this.durable = options.durable ?? true;
    this.folders = this.durable ? new FolderSync() : undefined;
  }

  /** Makes the names in `file`'s folder durable (a no-op when not durable). */
  private async syncFolderOf(file: string): Promise<void> {
    await this.folders?.sync(path.dirname(file));
  }

  /** Resolves a driver path to an absolute path inside the root, refusing traversal. */
  fullPath(p: string): string {
    if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) throw new InvalidPathError(p);
    for (const part of p.split('/')) {
      if (part === '.' || part === '..') throw new InvalidPathError(p);
    }
    return p === '' ? this.root : path.join(this.root, p);
  }

  async getContent(p: string): Promise<Buffer> {
    try {
      return await readFile(this.fullPath(p));
    } catch (err) {
      throw translate(err, p);
    }
  }

  async putContent(p: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    // Handled from the start: a rejection while this write is still under way is not unhandled.
    options.after?.catch(() => undefined);
    const target = this.fullPath(p);
    const tmp = tempName(target);
    let fd: number | undefined;
    try {
      fd = await withFolder(tmp, () => openFd(tmp), this.folders);
      // The open (a new inode: slow on some disks), the fsync and the rename go to the thread
      // pool; the write of small content into the page cache and the close take microseconds,
      // less than a round trip each. A rename looked as cheap, but it waits for the filesystem's
      // journal while other threads fsync: 0.3 ms of the event loop per rename under 8 clients
      // pushing 1 KiB images, the largest single item of its profile (issue 14).
      for (let done = 0; done < data.length;) done += writeSync(fd, data, done);
      if (this.durable) await fsyncFd(fd);
      closeSync(fd);
      fd = undefined;
      await options.after;
      if (options.ifAbsent === true) await this.publish(tmp, target, p, true);
      else {
        await rename(tmp, target);
        await this.syncFolderOf(target);
      }
    } catch (err) {
      if (fd !== undefined) closeQuietly(fd);
      await rm(tmp, { force: true }).catch(() => undefined);
      throw translate(err, p);
    }
  }

  async reader(p: string, options: ReadOptions = {}): Promise<Readable> {
    const full = this.fullPath(p);
    const start = options.offset ?? 0;
    const end = options.length === undefined ? undefined : start + options.length - 1;
    // Open first so that a missing file is an error here, not an 'error' event on the stream.
    let fh;
    try {
      fh = await open(full, 'r');
    } catch (err) {
      throw translate(err, p);
    }
    if (options.length === 0) {
      await fh.close();
      return Readable.from([]);
    }
    return createReadStream(full, {
      fd: fh,
      start,
      ...(end === undefined ? {} : { end }),
      highWaterMark: 1024 * 1024,
    });
  }

  /**
   * Streams a file into `destination` through two reusable buffers. A fresh buffer per chunk, as a
   * read stream allocates, makes V8 spend much of a large pull in garbage collection; here a
   * buffer is refilled only once the destination has finished writing it (the write callback).
   */
  async copyTo(p: string, destination: Writable, options: CopyOptions = {}): Promise<void> {
    let fh;
    try {
      fh = await open(this.fullPath(p), 'r');
    } catch (err) {
      throw translate(err, p);
    }
    // A destination that closes early (client gone, connection cut) never calls back its pending
    // writes nor emits 'drain': every wait races against its end, so the loop stops and the file
    // is closed, and no write's failure is left as an unhandled rejection.
    const abort = new AbortController();
    const ended = new Promise<never>((_, reject) => {
      const stopFinished = finished(destination, { readable: false }, (err) => {
        stopFinished();
        reject(err ?? new Error('destination closed'));
      });
      abort.signal.addEventListener('abort', () => stopFinished(), { once: true });
    });
    ended.catch(() => undefined);
    const until = <T>(p: Promise<T>): Promise<T> => Promise.race([p, ended]);
    try {
      options.onOpen?.();
      let position = options.offset ?? 0;
      let remaining = options.length ?? (await fh.stat()).size - position;
      const size = Math.min(COPY_CHUNK, Math.max(remaining, 1));
      const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
      const written: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
      for (let i = 0; remaining > 0; i ^= 1) {
        await until(written[i]!);
        if (destination.destroyed) throw new Error('destination closed');
        const buffer = buffers[i]!;
        const { bytesRead } = await fh.read(buffer, 0, Math.min(size, remaining), position);
        if (bytesRead === 0) throw new Error(`${p} ended ${remaining} bytes early`);
        position += bytesRead;
        remaining -= bytesRead;
        written[i] = new Promise<void>((resolve, reject) =>
          destination.write(buffer.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())),
        );
        written[i]!.catch(() => undefined);
        // Respect backpressure as well: at most two chunks are ever in flight.
        if (destination.writableNeedDrain) await until(once(destination, 'drain', { signal: abort.signal }));
      }
      await until(Promise.all(written));
    } finally {
      abort.abort();
      await fh.close();
    }
  }

  async writer(p: string, options: WriteOptions = {}): Promise<FileWriter> {
    const target = this.fullPath(p);
    const tmp = tempName(target);
    let fd: number;
    try {
      fd = await withFolder(tmp, () => openFd(tmp), this.folders);
    } catch (err) {
      throw translate(err, p);
    }
    // A stream on the descriptor batches buffered chunks into one writev; `flush` fsyncs before
    // the descriptor closes, so 'close' means durable.
    const stream = createWriteStream(tmp, { fd, highWaterMark: 1024 * 1024, flush: this.durable });
    let outcome: Promise<void> | undefined;
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    stream.on('error', () => undefined);
    const discard = async (): Promise<void> => {
      if (!stream.destroyed) stream.destroy();
      await closed;
      await rm(tmp, { force: true }).catch(() => undefined);
    };
    return {
      stream,
      size: () => stream.bytesWritten,
      commit: () =>
        (outcome ??= (async () => {
          try {
            if (!stream.writableEnded && !stream.destroyed) stream.end();
            await closed;
            if (stream.errored) throw stream.errored;
            if (!stream.writableFinished) throw new Error('writer closed before its end');
            await this.publish(tmp, target, p, options.ifAbsent === true);
          } catch (err) {
            await discard();
            throw translate(err, p);
          }
        })()),
      cancel: async () => {
        outcome ??= Promise.reject(new Error('writer cancelled'));
        outcome.catch(() => undefined);
        await discard();
      },
    };
  }

  async startParts(p: string): Promise<string> {
    const id = randomUUID();
    try {
      await mkdir(this.partsDir(p, id), { recursive: true });
    } catch (err) {
      throw translate(err, p);
    }
    return id;
  }

  async writePart(p: string, uploadId: string, number: number, body: Readable): Promise<PartInfo> {
    checkPartNumber(p, number);
    const dir = this.partsDir(p, uploadId);
    const etag = `${String(number).padStart(5, '0')}.${randomUUID()}`;
    const file = path.join(dir, etag);
    let fd: number;
    try {
      fd = await openFd(file);
    } catch (err) {
      body.resume();
      throw translate(err, `${p} (upload ${uploadId})`);
    }
    const stream = createWriteStream(file, { fd, highWaterMark: 1024 * 1024, flush: this.durable });
    try {
      await pipeline(body, stream);
    } catch (err) {
      await rm(file, { force: true }).catch(() => undefined);
      throw translate(err, p);
    }
    const size = stream.bytesWritten;
    return { number, size, etag };
  }

  async completeParts(p: string, uploadId: string, parts: PartInfo[]): Promise<void> {
    const dir = this.partsDir(p, uploadId);
    const target = this.fullPath(p);
    try {
      await stat(dir);
    } catch (err) {
      throw translate(err, `${p} (upload ${uploadId})`);
    }
    let previous = 0;
    for (const part of parts) {
      if (
        part.number <= previous ||
        !/^\d{5}\.[0-9a-f-]{36}$/.test(part.etag) ||
        !part.etag.startsWith(String(part.number).padStart(5, '0'))
      ) {
        throw new InvalidPartError(p, part.number);
      }
      previous = part.number;
      const info = await stat(path.join(dir, part.etag)).catch(() => undefined);
      if (!info || info.size !== part.size) throw new InvalidPartError(p, part.number);
    }
    try {
      if (parts.length === 0) {
        await this.putContent(p, new Uint8Array());
      } else if (parts.length === 1) {
        // The usual case (one PATCH, or a monolithic PUT): the part file is the file already.
        await this.publish(path.join(dir, parts[0]!.etag), target, p, false);
      } else {
        // The first part's file grows into the whole file: only the later parts are copied.
        const first = path.join(dir, parts[0]!.etag);
        const fh = await open(first, 'a');
        try {
          for (const part of parts.slice(1)) await writeAll(fh, createReadStream(path.join(dir, part.etag)));
          if (this.durable) await fh.sync();
        } finally {
          await fh.close();
        }
        await this.publish(first, target, p, false);
      }
    } catch (err) {
      throw translate(err, p);
    }
    await rm(dir, { recursive: true, force: true });
    await this.removeEmptyPartsFolder(p);
  }

  async abortParts(p: string, uploadId: string): Promise<void> {
    await rm(this.partsDir(p, uploadId), { recursive: true, force: true });
    await this.removeEmptyPartsFolder(p);
  }

  async stat(p: string): Promise<FileInfo> {
    try {
      // Synchronous on purpose: on a local disk a stat of a cached inode takes a few microseconds,
      // far less than the thread-pool round trip of the async one (blob HEAD at 1 client is
      // dominated by that hop, issue 14), and it never queues behind slow opens and fsyncs there.
      const s = statSync(this.fullPath(p), { throwIfNoEntry: false });
      if (s === undefined) throw new PathNotFoundError(p);
      return { path: p, size: s.size, modTime: s.mtime, isDirectory: s.isDirectory() };
    } catch (err) {
      throw translate(err, p);
    }
  }

  async listPage(p: string, options: ListOptions = {}): Promise<ListPage> {
    let names: string[];
    try {
      names = (await readdir(this.fullPath(p))).sort(byteOrder);
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return { names: [] };
      throw err;
    }
    const limit = Math.max(1, options.limit ?? DEFAULT_PAGE);
    let start = 0;
    if (options.after !== undefined) {
      const after = options.after;
      start = names.findIndex((n) => byteOrder(n, after) > 0);
      if (start < 0) return { names: [] };
    }
    const page = names.slice(start, start + limit);
    return start + limit < names.length ? { names: page, next: page[page.length - 1]! } : { names: page };
  }

  list(p: string): Promise<string[]> {
    return listAllPages(this, p);
  }

  async move(source: string, destination: string): Promise<void> {
    const from = this.fullPath(source);
    const to = this.fullPath(destination);
    try {
      await renameCreating(from, to, this.folders);
      await this.syncFolderOf(to);
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new PathNotFoundError(source, { cause: err });
      throw translate(err, destination);
    }
  }

  async delete(p: string): Promise<void> {
    await rm(this.fullPath(p), { recursive: true, force: true });
  }

  async link(source: string, destination: string): Promise<boolean> {
    const from = this.fullPath(source);
    const to = this.fullPath(destination);
    // Link under a temporary name, then rename: the destination appears whole or not at all.
    const tmp = tempName(to);
    try {
      await linkCreating(from, tmp, this.folders);
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new PathNotFoundError(source, { cause: err });
      if (isCode(err, 'EXDEV', 'EPERM', 'EMLINK')) return false;
      throw translate(err, destination);
    }
    try {
      // A link counts as written now, as a copy would (the mtime belongs to the shared inode, so
      // the other names look younger too, which only delays their collection).
      const now = new Date();
      await utimes(tmp, now, now);
      await rename(tmp, to);
      await this.syncFolderOf(to);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw translate(err, destination);
    }
    return true;
  }

  /** Makes a finished temporary file visible at `target`: rename, or link when create-only. */
  private async publish(tmp: string, target: string, p: string, ifAbsent: boolean): Promise<void> {
    if (!ifAbsent) {
      await rename(tmp, target);
      await this.syncFolderOf(target);
      return;
    }
    try {
      await link(tmp, target);
    } catch (err) {
      if (isCode(err, 'EEXIST')) {
        await rm(tmp, { force: true });
        throw new AlreadyExistsError(p);
      }
      throw err;
    }
    await unlink(tmp);
    await this.syncFolderOf(target);
  }

  private partsDir(p: string, uploadId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new PathNotFoundError(`${p} (upload ${uploadId})`);
    return path.join(`${this.fullPath(p)}${PARTS_SUFFIX}`, uploadId);
  }

  /** Drops `<path>.parts` once its last upload is gone (a concurrent start simply recreates it). */
  private async removeEmptyPartsFolder(p: string): Promise<void> {
    await rmdir(`${this.fullPath(p)}${PARTS_SUFFIX}`).catch(() => undefined);
  }
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkPartNumber(p: string, number: number): void {
  if (!Number.isInteger(number) || number < 1 || number > 10_000) throw new InvalidPartError(p, number);
}
