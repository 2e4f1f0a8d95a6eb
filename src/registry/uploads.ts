/**
 * Blob upload sessions (POST, PATCH, PUT, GET status, DELETE). The session's bytes live in a file
 * under the repository's `.uploads/`, so a session survives a server restart: the file's size is
 * the upload offset. The running hash is kept in memory while the server lives; after a restart
 * (or an interrupted write) it is rebuilt by re-reading the file, so a digest is never trusted
 * from a hash that may have missed or doubled bytes.
 */
import { randomUUID, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHasher, type Digest, type DigestAlgorithm } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/errors.js';
import type { BlobInfo, BlobStore } from './blobs.js';
import { layout } from './layout.js';
import { KeyedLock } from './locks.js';

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ChunkOptions {
  /** Inclusive byte range from Content-Range; the first byte must be the current offset. */
  range?: { start: number; end: number };
  /** The declared Content-Length, checked against the bytes received. */
  contentLength?: number;
}

interface SessionState {
  algorithm: DigestAlgorithm;
  hasher: Hash;
  /** Bytes the hasher has seen; equals the file size when the state is trustworthy. */
  hashed: number;
}

export class UploadService {
  private readonly sessions = new Map<string, SessionState>();
  private readonly locks = new KeyedLock();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
  ) {}

  async start(repo: string, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    const id = randomUUID();
    const writer = await this.driver.writer(layout.upload(repo, id), { append: false });
    await writer.close();
    this.sessions.set(id, { algorithm, hasher: createHasher(algorithm), hashed: 0 });
    return id;
  }

  /** The session's current size; throws BLOB_UPLOAD_UNKNOWN for an unknown (or another repository's) id. */
  async offset(repo: string, id: string): Promise<number> {
    // Under the session's lock: a write still flushing (its client gone) must finish first, or
    // the offset reported would be behind the bytes the next chunk has to follow.
    return this.locks.run(id, () => this.sizeOf(repo, id));
  }

  async append(repo: string, id: string, body: Readable, options: ChunkOptions = {}): Promise<number> {
    return this.locks.run(id, () => this.appendLocked(repo, id, body, options));
  }

  /**
   * Finishes a session: appends the optional last chunk, verifies the digest against the bytes
   * received, and moves the blob into place. A digest mismatch discards the session.
   */
  async complete(
    repo: string,
    id: string,
    digest: Digest,
    body: Readable | undefined,
    options: ChunkOptions = {},
  ): Promise<BlobInfo> {
    return this.locks.run(id, async () => {
      const size = body ? await this.appendLocked(repo, id, body, options) : await this.sizeOf(repo, id);
      const state = await this.trustedState(repo, id, size, digest.algorithm);
      const actual = state.hasher.copy().digest('hex');
      if (actual !== digest.hex) {
        await this.discard(repo, id);
        throw new RegistryError('DIGEST_INVALID', `upload digest is ${digest.algorithm}:${actual}, not ${digest.value}`, {
          detail: { expected: digest.value, actual: `${digest.algorithm}:${actual}` },
        });
      }
      // Make the bytes durable before they become visible under their digest.
      const syncer = await this.driver.writer(layout.upload(repo, id), { append: true });
      await syncer.commit();
      await this.blobs.place(repo, digest, layout.upload(repo, id), size);
      this.sessions.delete(id);
      return { digest: digest.value, size };
    });
  }

  async cancel(repo: string, id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.sizeOf(repo, id);
      await this.discard(repo, id);
    });
  }

  /**
   * Deletes a session nobody has written to since `idleSince` (ms since the epoch): garbage
   * collection of abandoned uploads. It holds the session's lock and re-reads the file's mtime
   * under it, so a request working on the session is never cut short. Returns the bytes freed, or
   * undefined when the session is recent or already gone. Also takes the leftovers of an
   * interrupted cross-repository copy, which live in the same folder under other names.
   */
  async expire(repo: string, id: string, idleSince: number): Promise<number | undefined> {
    if (id === '' || id.includes('/')) return undefined;
    return this.locks.run(id, async () => {
      const info = await this.driver.stat(layout.upload(repo, id)).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (!info || info.isDirectory || info.modTime.getTime() > idleSince) return undefined;
      await this.discard(repo, id);
      return info.size;
    });
  }

  /** Single-request upload (POST ?digest=, and the lead of a PUT with the whole body). */
  async monolithic(repo: string, digest: Digest, body: Readable, contentLength?: number): Promise<BlobInfo> {
    // No session to resume, so none to record: one file, written, hashed and fsynced in one pass.
    const path = layout.upload(repo, randomUUID());
    const writer = await this.driver.writer(path, { append: false });
    const hasher = createHasher(digest.algorithm);
    let received = 0;
    try {
      await pipeline(
        body,
        new Transform({
          transform(chunk: Buffer, _enc, callback) {
            received += chunk.length;
            hasher.update(chunk);
            callback(null, chunk);
          },
        }),
        writer.stream,
      );
      await writer.commit();
    } catch (err) {
      await writer.cancel().catch(() => undefined);
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload body was interrupted', { cause: err });
    }
    try {
      if (contentLength !== undefined && received !== contentLength) {
        throw new RegistryError('SIZE_INVALID', `received ${received} bytes, Content-Length said ${contentLength}`);
      }
      const actual = hasher.digest('hex');
      if (actual !== digest.hex) {
        throw new RegistryError('DIGEST_INVALID', `upload digest is ${digest.algorithm}:${actual}, not ${digest.value}`, {
          detail: { expected: digest.value, actual: `${digest.algorithm}:${actual}` },
        });
      }
      await this.blobs.place(repo, digest, path, received);
      return { digest: digest.value, size: received };
    } catch (err) {
      await this.driver.delete(path).catch(() => undefined);
      throw err;
    }
  }

  private async discard(repo: string, id: string): Promise<void> {
    this.sessions.delete(id);
    await this.driver.delete(layout.upload(repo, id));
  }

  private async sizeOf(repo: string, id: string): Promise<number> {
    if (!UPLOAD_ID.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload id unknown');
    try {
      const info = await this.driver.stat(layout.upload(repo, id));
      return info.size;
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown to ${repo}`);
      throw err;
    }
  }

  /** The hash state for the file's current bytes, rebuilt from the file when it cannot be trusted. */
  private async trustedState(repo: string, id: string, size: number, algorithm: DigestAlgorithm): Promise<SessionState> {
    const state = this.sessions.get(id);
    if (state && state.algorithm === algorithm && state.hashed === size) return state;
    const hasher = createHasher(algorithm);
    let hashed = 0;
    if (size > 0) {
      const source = await this.driver.reader(layout.upload(repo, id), { offset: 0, length: size });
      for await (const chunk of source) {
        hasher.update(chunk as Buffer);
        hashed += (chunk as Buffer).length;
      }
    }
    const rebuilt = { algorithm, hasher, hashed };
    this.sessions.set(id, rebuilt);
    return rebuilt;
  }

  private async appendLocked(repo: string, id: string, body: Readable, options: ChunkOptions): Promise<number> {
    const size = await this.sizeOf(repo, id);
    const { range, contentLength } = options;
    if (range) {
      if (range.end < range.start) {
        body.resume();
        throw new RegistryError('BLOB_UPLOAD_INVALID', 'Content-Range ends before it starts');
      }
      if (range.start !== size) {
        body.resume();
        throw new RegistryError('RANGE_NOT_SATISFIABLE', `chunk must start at offset ${size}`, {
          detail: { offset: size },
        });
      }
      if (contentLength !== undefined && contentLength !== range.end - range.start + 1) {
        body.resume();
        throw new RegistryError('SIZE_INVALID', 'Content-Range does not match Content-Length');
      }
    }
    const state = await this.trustedState(repo, id, size, this.sessions.get(id)?.algorithm ?? 'sha256');
    const writer = await this.driver.writer(layout.upload(repo, id), { append: true });
    let received = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        received += chunk.length;
        state.hasher.update(chunk);
        state.hashed += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, hashing, writer.stream);
      await writer.close();
    } catch (err) {
      // Some bytes may have been hashed but not written (or the reverse): rebuild on next use.
      this.sessions.delete(id);
      await writer.close().catch(() => undefined);
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload body was interrupted', { cause: err });
    }
    if (contentLength !== undefined && received !== contentLength) {
      throw new RegistryError('SIZE_INVALID', `received ${received} bytes, Content-Length said ${contentLength}`);
    }
    return writer.size();
  }
}
