import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { finished, Readable, type Writable } from 'node:stream';

/** Chunk size for copyTo: large enough for few syscalls, small enough for many concurrent pulls. */
const COPY_CHUNK = 512 * 1024;
import type { CopyOptions, FileInfo, FileWriter, ReadOptions, StorageDriver } from '../driver.js';
import { InvalidPathError, PathNotFoundError } from '../errors.js';

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * The local filesystem driver. Atomicity comes from writing a temporary sibling file, fsyncing it
 * and renaming it over the target (rename is atomic on POSIX within one filesystem).
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly root: string;
  /** Whether to fsync files before they become visible (`storage.commit` can only make it stricter). */
  private readonly durable: boolean;

  constructor(root: string, options: { durable?: boolean } = {}) {
    this.root = path.resolve(root);
    this.durable = options.durable ?? true;
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
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) throw new PathNotFoundError(p, { cause: err });
      throw err;
    }
  }

  async putContent(p: string, data: Uint8Array): Promise<void> {
    const target = this.fullPath(p);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${randomUUID()}`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      if (this.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
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
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) throw new PathNotFoundError(p, { cause: err });
      throw err;
    }
    if (options.length === 0) {
      await fh.close();
      return Readable.from([]);
    }
    return createReadStream(full, { fd: fh, start, ...(end === undefined ? {} : { end }), highWaterMark: 1024 * 1024 });
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
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) throw new PathNotFoundError(p, { cause: err });
      throw err;
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

  async writer(p: string, options: { append: boolean }): Promise<FileWriter> {
    const full = this.fullPath(p);
    await mkdir(path.dirname(full), { recursive: true });
    const stream = createWriteStream(full, { flags: options.append ? 'a' : 'w', highWaterMark: 1024 * 1024 });
    await once(stream, 'open');
    const initial = options.append ? (await stat(full)).size : 0;
    let finished: Promise<void> | undefined;
    const finish = (sync: boolean): Promise<void> =>
      (finished ??= (async () => {
        if (!stream.writableEnded && !stream.destroyed) stream.end();
        if (!stream.closed) await once(stream, 'close').catch(() => undefined);
        // fsync acts on the file, not the descriptor: a fresh one flushes what the stream wrote.
        if (sync && this.durable) {
          const fh = await open(full, 'r');
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
        }
      })());
    return {
      stream,
      size: () => initial + stream.bytesWritten,
      commit: () => finish(true),
      close: () => finish(false),
      cancel: async () => {
        stream.destroy();
        await finish(false);
        await rm(full, { force: true });
      },
    };
  }

  async stat(p: string): Promise<FileInfo> {
    try {
      const s = await stat(this.fullPath(p));
      return { path: p, size: s.size, modTime: s.mtime, isDirectory: s.isDirectory() };
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) throw new PathNotFoundError(p, { cause: err });
      throw err;
    }
  }

  async list(p: string): Promise<string[]> {
    try {
      return (await readdir(this.fullPath(p))).sort();
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return [];
      throw err;
    }
  }

  async move(source: string, destination: string): Promise<void> {
    const from = this.fullPath(source);
    const to = this.fullPath(destination);
    await mkdir(path.dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new PathNotFoundError(source, { cause: err });
      throw err;
    }
  }

  async delete(p: string): Promise<void> {
    await rm(this.fullPath(p), { recursive: true, force: true });
  }

  async link(source: string, destination: string): Promise<boolean> {
    const from = this.fullPath(source);
    const to = this.fullPath(destination);
    await mkdir(path.dirname(to), { recursive: true });
    // Link under a temporary name, then rename: the destination appears whole or not at all.
    const tmp = `${to}.tmp-${randomUUID()}`;
    try {
      await link(from, tmp);
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new PathNotFoundError(source, { cause: err });
      if (isCode(err, 'EXDEV') || isCode(err, 'EPERM') || isCode(err, 'EMLINK')) return false;
      throw err;
    }
    try {
      // A link counts as written now, as a copy would: garbage collection ages blobs by mtime, and
      // a blob just linked into a repository must not look hours old there. (The mtime belongs to
      // the shared inode, so the other links look younger too, which only delays their collection.)
      const now = new Date();
      await utimes(tmp, now, now);
      await rename(tmp, to);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return true;
  }
}
