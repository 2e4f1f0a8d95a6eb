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
 * One pass over the bytes: they are hashed once and written once. When the spool file lives inside
 * the storage (the default), `keep` fsyncs the verified file and hands it to the blob store, which
 * renames it into place, so storing a downloaded blob copies nothing. Otherwise the file is removed
 * once the download has ended and every reader is done.
 *
 * Every reader reads through the spool's one file handle (positional reads), so neither the
 * removal nor the rename into place can pull the file from under a reader; the handle closes when
 * the last of them is done.
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
/**
 * The newest bytes received stay in memory, this many at most (plus those still being written),
 * so readers that keep up (the usual case: one client pulling as fast as the upstream sends) get
 * the received buffers themselves, as soon as they are hashed and without waiting for the file
 * write, rather than reading them back from the file: no second copy, no read buffers.
 */
const RECENT_BYTES = 4 * 1024 * 1024;

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
  /**
   * Bytes received and hashed so far: `written` plus those on their way to the file. Readers may
   * have them from memory before the write lands, so the client gets bytes while the cache write
   * happens rather than after it.
   */
  private received = 0;
  private state: State = 'filling';
  private error: Error | undefined;
  private waiters: (() => void)[] = [];
  /** The spool's own reference (until `release`) plus one per open reader. */
  private refs = 1;
  private readonly hasher: Hash;
  /** The last buffers received, in order, ending at `received`, and where the first one starts. */
  private recent: Buffer[] = [];
  private recentStart = 0;
  /** Set once `keep` has handed the file to the blob store: it is no longer ours to remove. */
  private kept = false;

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
    // Read and write: readers share this handle.
    const handle = await open(file, 'wx+');
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
      this.wake();
    }
  }

  /**
   * After a verified `fill`: makes the bytes durable, then lets `place` move the file (by its
   * name) where it belongs. From then on the file is not removed; readers keep reading it
   * through the open handle wherever it went.
   */
  async keep(place: (file: string) => Promise<void>): Promise<void> {
    if (this.state !== 'done') throw new Error('only a verified spool can be kept');
    if (this.refs === 0) throw new Error('spool already removed');
    await this.handle.sync();
    await place(this.file);
    this.kept = true;
  }

  private async append(buffers: Buffer[]): Promise<void> {
    for (const buffer of buffers) {
      this.hasher.update(buffer);
      this.received += buffer.length;
    }
    this.recent.push(...buffers);
    this.wake();
    let pending = buffers;
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, this.written);
      this.written += bytesWritten;
      pending = dropBytes(pending, bytesWritten);
    }
    this.forget();
  }

  /**
   * Drops the oldest buffers beyond RECENT_BYTES, but only those already in the file: a reader
   * that falls behind the memory reads the file, which must hold everything before `recentStart`.
   */
  private forget(): void {
    let held = this.received - this.recentStart;
    while (this.recent.length > 0 && held > RECENT_BYTES) {
      const oldest = this.recent[0]!;
      if (this.recentStart + oldest.length > this.written) break;
      this.recent.shift();
      this.recentStart += oldest.length;
      held -= oldest.length;
    }
  }

  /** Bytes [from, to) as slices of the buffers still in memory, or undefined when some are gone. */
  private fromMemory(from: number, to: number): Buffer[] | undefined {
    if (from < this.recentStart) return undefined;
    const slices: Buffer[] = [];
    let start = this.recentStart;
    for (const buffer of this.recent) {
      const end = start + buffer.length;
      if (end > from && start < to)
        slices.push(buffer.subarray(Math.max(0, from - start), Math.min(buffer.length, to - start)));
      start = end;
      if (start >= to) break;
    }
    return slices;
  }

  /** A stream of the blob's bytes from the start, following the file as it grows. */
  reader(): Readable {
    if (this.refs === 0) throw new Error('spool already removed');
    this.refs++;
    const stream = Readable.from(this.follow(), { objectMode: false, highWaterMark: READ_CHUNK });
    // 'close' comes however the stream ends, even destroyed before its first read.
    stream.once('close', () => this.unref());
    return stream;
  }

  /** Drops the spool's own reference: the file goes once the readers are done. */
  release(): void {
    this.unref();
  }

  private async *follow(): AsyncGenerator<Buffer> {
    const handle = this.handle;
    let position = 0;
    for (;;) {
      // The last byte waits for the digest check (done: every received byte is also written).
      const available = this.state === 'done' ? this.received : Math.max(0, this.received - 1);
      // While the download runs, wait for a worthwhile amount rather than chase every write.
      const worthReading = this.state !== 'filling' || available - position >= MIN_READ || position === 0;
      if (position < available && worthReading) {
        const slices = this.fromMemory(position, available);
        if (slices) {
          for (const slice of slices) {
            position += slice.length;
            yield slice;
          }
          continue;
        }
        // Not in memory any more, so before `recentStart`, which is never past `written`.
        const length = Math.min(READ_CHUNK, Math.min(available, this.written) - position);
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
    if (this.refs !== 0) return;
    this.recent = [];
    // A FileHandle closes after its pending reads and writes.
    const closing = this.handle.close().catch(() => undefined);
    if (!this.kept) void closing.then(() => rm(this.file, { force: true })).catch(() => undefined);
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
