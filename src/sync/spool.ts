/**
 * One blob on its way from upstream, spooled to a local file that any number of readers follow
 * while it grows: the client that asked first, clients that ask while it is still arriving, and
 * the registry's own ingest, which stores it. That is what lets a first pull stream (nobody waits
 * for the whole download) and still make one upstream request however many clients ask at once.
 *
 * Integrity: the spool hashes what it receives, and readers are held back by one byte until the
 * digest has been checked, so no reader ever sees a complete blob whose digest is wrong (the
 * registry's ingest checks it again before storing).
 *
 * The file is removed once the download has ended and every reader is done. Readers open their
 * own handle when they are created, so removal never pulls a file from under one.
 */
import { randomUUID, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHasher, type Digest } from '../oci/digest.js';

const READ_CHUNK = 1024 * 1024;
/** While a download runs, readers wait until this much is new (or it ends) before reading. */
const MIN_READ = 256 * 1024;

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`upstream sent content with digest ${actual}, not ${expected}`);
    this.name = 'DigestMismatchError';
  }
}

export class SizeMismatchError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`upstream sent ${actual} bytes, announced ${expected}`);
    this.name = 'SizeMismatchError';
  }
}

type State = 'filling' | 'done' | 'failed';

export class BlobSpool {
  /** Bytes written to the file so far. */
  written = 0;
  private state: State = 'filling';
  private error: Error | undefined;
  private waiters: (() => void)[] = [];
  /** The spool's own reference (until `release`) plus one per open reader. */
  private refs = 1;
  private readonly hasher: Hash;

  private constructor(
    readonly file: string,
    readonly digest: Digest,
    /** From the upstream's Content-Length, when it sent one. */
    readonly size: number | undefined,
    private readonly handle: FileHandle,
  ) {
    this.hasher = createHasher(digest.algorithm);
  }

  /** Creates the spool file in `dir` (which must exist). */
  static async create(dir: string, digest: Digest, size: number | undefined): Promise<BlobSpool> {
    const file = path.join(dir, `${digest.hex.slice(0, 16)}-${randomUUID()}`);
    const handle = await open(file, 'wx');
    return new BlobSpool(file, digest, size, handle);
  }

  /** Whether the file is gone (download over, every reader done): no new reader can start. */
  get removed(): boolean {
    return this.refs === 0;
  }

  /** Whether the download ended with every byte verified. */
  get complete(): boolean {
    return this.state === 'done';
  }

  /**
   * Copies the upstream body into the file, then checks size and digest. Resolves when the blob
   * is complete and verified; rejects (and fails every reader) otherwise.
   */
  async fill(source: Readable): Promise<void> {
    // Chunks that arrive while a write is in flight go out together in one writev, and readers
    // wake once per write: fewer, larger reads and socket writes downstream.
    const sink = new Writable({
      highWaterMark: 4 * READ_CHUNK,
      writev: (chunks, callback) => {
        this.append(chunks.map((c) => c.chunk as Buffer)).then(() => callback(), callback);
      },
    });
    try {
      await pipeline(source, sink);
      if (this.size !== undefined && this.written !== this.size)
        throw new SizeMismatchError(this.size, this.written);
      const actual = `${this.digest.algorithm}:${this.hasher.digest('hex')}`;
      if (actual !== this.digest.value) throw new DigestMismatchError(this.digest.value, actual);
      this.state = 'done';
    } catch (err) {
      this.state = 'failed';
      this.error = err instanceof Error ? err : new Error(String(err));
      source.destroy();
      throw this.error;
    } finally {
      await this.handle.close().catch(() => undefined);
      this.wake();
    }
  }

  private async append(buffers: Buffer[]): Promise<void> {
    for (const buffer of buffers) this.hasher.update(buffer);
    let pending = buffers;
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, this.written);
      this.written += bytesWritten;
      pending = dropBytes(pending, bytesWritten);
    }
    this.wake();
  }

  /** A stream of the blob's bytes from the start, following the file as it grows. */
  reader(): Readable {
    if (this.refs === 0) throw new Error('spool already removed');
    this.refs++;
    const opening = open(this.file, 'r');
    opening.catch(() => undefined);
    const stream = Readable.from(this.follow(opening), { objectMode: false, highWaterMark: READ_CHUNK });
    // 'close' comes however the stream ends, even destroyed before its first read; a FileHandle
    // closes after its pending reads, and closing it twice is harmless.
    stream.once('close', () => {
      void opening.then((handle) => handle.close()).catch(() => undefined);
      this.unref();
    });
    return stream;
  }

  /** Drops the spool's own reference: the file goes once the readers are done. */
  release(): void {
    this.unref();
  }

  private async *follow(opening: Promise<FileHandle>): AsyncGenerator<Buffer> {
    const handle = await opening;
    let position = 0;
    for (;;) {
      // The last byte waits for the digest check.
      const available = this.state === 'done' ? this.written : Math.max(0, this.written - 1);
      // While the download runs, wait for a worthwhile amount rather than chase every write.
      const worthReading = this.state !== 'filling' || available - position >= MIN_READ || position === 0;
      if (position < available && worthReading) {
        const length = Math.min(READ_CHUNK, available - position);
        const buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        if (bytesRead === 0) throw new Error(`spool ${this.file} is shorter than expected`);
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
        continue;
      }
      if (this.state === 'done') return;
      if (this.state === 'failed') throw this.error ?? new Error('upstream transfer failed');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private unref(): void {
    this.refs--;
    if (this.refs === 0) void rm(this.file, { force: true }).catch(() => undefined);
  }
}

/** `buffers` without their first `count` bytes. */
function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let skip = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}
