/**
 * Blob upload sessions (POST, PATCH, PUT, GET status, DELETE) over two ports: the session record
 * in `UploadSessions` (shared by every process) and the bytes as storage-driver parts. A session
 * is only its signed id until its first byte (upload-ids.ts): the first chunk's claim creates its
 * record, and finishing it leaves a tombstone. Any process can continue any session.
 *
 * Why each chunk is a claim, a part, and a record (the protocol every process follows):
 * 1. Claim: a compare-and-swap on the record sets `writer` (a token with an expiry, renewed while
 *    the bytes flow) and takes the next part number. Two PATCHes of one range, to one process or
 *    to two, cannot both claim: the loser answers 416 with the offset as it stands.
 * 2. Write: the body streams through the digest (resumed from the record's hash state) into a new
 *    storage part. Part numbers are never reused, so a writer that lost its claim (a process that
 *    stalled past the expiry) cannot overwrite anybody's bytes.
 * 3. Record: a second swap appends the part, advances the offset and stores the hash state. Only
 *    then is the chunk acknowledged (202). A part whose record swap fails is never listed, and the
 *    driver drops unlisted parts when the upload completes.
 * The closing PUT finishes the digest from the stored state (no re-read of the upload), assembles
 * the parts, and moves the file into place under its digest.
 *
 * Hashing: node:crypto where one request carries every byte (monolithic uploads, and a PUT that
 * brings the whole blob to an empty session), the WASM hasher whose state can be saved where the
 * state must outlive the request (bench/hashing.ts measures the difference); the digests of
 * sessions in progress are upload-digests.ts's.
 */
import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { createHasher, type Digest, type DigestAlgorithm } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { UploadSession, UploadSessions } from '../meta/upload-sessions.js';
import { isLegacyUploadId, isUploadId, UNTOUCHED_UPLOAD_TTL_MS, UploadIdSigner } from './upload-ids.js';
import type { FileInfo, PartInfo, StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/errors.js';
import type { BlobInfo, BlobStore } from './blobs.js';
import { layout } from './layout.js';
import { perRepositoryLayout, type StoreLayout } from './store-layout.js';
import { KeyedLock } from './locks.js';
import { UploadDigests, type ChunkHasher } from './upload-digests.js';
import { feed, writeFailure, writeWholeBlob } from './whole-uploads.js';

/** How long a chunk's claim lasts without renewal: the longest a crashed writer blocks its session. */
const CLAIM_MS = 30_000;
/**
 * Tombstones are purged this long after an id stops being accepted (`UNTOUCHED_UPLOAD_TTL_MS`):
 * room for processes whose clocks disagree.
 */
const TOMBSTONE_MARGIN_MS = 60 * 60 * 1000;
/** How often a writer renews its claim while the bytes flow. */
const RENEW_MS = 10_000;
export interface UploadServiceOptions {
  /**
   * Keep the digest's state in the session record after every chunk (WASM hasher, about five
   * times node:crypto's CPU per byte), so that a closing PUT in any process finishes the digest
   * without reading the upload back. Off (the default), chunks are hashed with node:crypto and the
   * state stays in the process that wrote them: a PUT there reads nothing back, a PUT elsewhere
   * re-reads the upload once. Worth it where re-reading is dear (an object store far away), not
   * on a local disk; bench/hashing.ts and docs/benchmarks.md ("Hashing uploads") have the figures.
   */
  persistHashState?: boolean;
  /** Where upload files live (default: the per-repository layout's `.uploads/`). */
  layout?: StoreLayout;
}

export interface ChunkOptions {
  /** Inclusive byte range from Content-Range; the first byte must be the current offset. */
  range?: { start: number; end: number };
  /** The declared Content-Length, checked against the bytes received. */
  contentLength?: number;
}

function rangeNotSatisfiable(offset: number, why: string): RegistryError {
  return new RegistryError('RANGE_NOT_SATISFIABLE', why, { detail: { offset } });
}

export class UploadService {
  /** Orders one process's requests on a session (a status waits for a write still flushing). */
  private readonly locks = new KeyedLock();

  /** The digests of sessions in progress (upload-digests.ts). */
  private readonly digests: UploadDigests;
  private readonly layout: StoreLayout;
  /** The store's id key, fetched once (it never changes). */
  private signer: Promise<UploadIdSigner> | undefined;

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly sessions: UploadSessions,
    options: UploadServiceOptions = {},
  ) {
    this.digests = new UploadDigests(options.persistHashState ?? false, (session, algorithm) =>
      this.rehash(session, algorithm),
    );
    this.layout = options.layout ?? perRepositoryLayout;
  }

  /** Opens a session: a signed id, and nothing written until the first byte (upload-ids.ts). */
  async start(repo: string, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    return (await this.ids()).issue(repo, algorithm, Date.now());
  }

  private ids(): Promise<UploadIdSigner> {
    this.signer ??= this.sessions.idKey().then(
      (key) => new UploadIdSigner(key),
      (err: unknown) => {
        this.signer = undefined; // a failed read is tried again by the next request
        throw err;
      },
    );
    return this.signer;
  }

  /** The session's recorded size; throws BLOB_UPLOAD_UNKNOWN for an unknown (or another repository's) id. */
  async offset(repo: string, id: string): Promise<number> {
    return this.locks.run(id, async () => (await this.session(repo, id)).offset);
  }

  async append(repo: string, id: string, body: Readable, options: ChunkOptions = {}): Promise<number> {
    return this.locks.run(id, async () => {
      const session = await this.session(repo, id).catch((err: unknown) => {
        body.resume();
        throw err;
      });
      const written = await this.writeChunk(session, body, options);
      return written.offset;
    });
  }

  /**
   * Finishes a session: writes the optional last chunk, verifies the digest from the stored hash
   * state, and moves the blob into place. A digest mismatch discards the session.
   */
  async complete(
    repo: string,
    id: string,
    digest: Digest,
    body: Readable | undefined,
    options: ChunkOptions = {},
  ): Promise<BlobInfo> {
    return this.locks.run(id, async () => {
      let session = await this.session(repo, id).catch((err: unknown) => {
        body?.resume();
        throw err;
      });
      if (body && session.offset === 0 && session.parts.length === 0) {
        return this.completeInOnePass(session, digest, body, options);
      }
      if (body) session = await this.writeChunk(session, body, options);
      const claimed = await this.claim(session);
      try {
        const actual =
          digest.algorithm === claimed.algorithm
            ? await this.digests.digestOf(claimed)
            : await this.rehash(claimed, digest.algorithm);
        if (actual !== digest.hex) {
          await this.discard(claimed);
          const shown = `${digest.algorithm}:${actual}`; // actual is in the digest's algorithm, rehashed or not
          throw new RegistryError('DIGEST_INVALID', `upload digest is ${shown}, not ${digest.value}`, {
            detail: { expected: digest.value, actual: shown },
          });
        }
        await this.assemble(claimed, digest);
        await this.sessions.finish(claimed);
        this.digests.forget(claimed.id);
        return { digest: digest.value, size: claimed.offset };
      } catch (err) {
        await this.release(claimed).catch(() => undefined);
        throw err instanceof RegistryError ? err : writeFailure(err);
      }
    });
  }

  async cancel(repo: string, id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.discard(await this.session(repo, id));
    });
  }

  /**
   * Deletes an upload nobody has touched since `idleSince` (ms since the epoch): garbage
   * collection of abandoned sessions, given a name found in the repository's uploads folder.
   * A session is judged by its record (never by file times); a name with no session behind it
   * (an interrupted copy's leftovers, a crashed completion's parts) goes once its file is old.
   * Returns the bytes freed, or undefined when the upload is recent or already gone.
   */
  async expire(repo: string, name: string, idleSince: number): Promise<number | undefined> {
    if (name === '' || name.includes('/')) return undefined;
    const id = name.replace(/\.parts$/, '');
    if (isUploadId(id)) {
      const expired = await this.locks.run(id, async () => {
        const session = await this.sessions.get(id);
        // Finished: what is left is a crashed completion's, judged as a stray below.
        if (typeof session !== 'object') return 'no-session' as const;
        if (session.repository !== repo || session.updatedAt > idleSince) return undefined;
        await this.discard(session);
        return session.offset;
      });
      if (expired !== 'no-session') return expired;
    }
    if (this.layout.kind === 'content-addressed') return undefined;
    const path = `${layout.uploadsDir(repo)}/${name}`;
    const info = await this.driver.stat(path).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!info || info.modTime.getTime() > idleSince) return undefined;
    await this.driver.delete(path);
    return info.size;
  }

  /**
   * Aborts the storage backend's own multipart uploads older than `cutoff` that nobody completed
   * (an object store's writer in a process that died); returns how many. Garbage collection.
   */
  async abortStaleWrites(cutoff: number): Promise<number> {
    return (await this.driver.abortStaleMultipartUploads?.(new Date(cutoff))) ?? 0;
  }

  /**
   * Names in the repository's uploads folder (sessions' parts, stray files), for garbage
   * collection to hand to `expire`. The content-addressed layout has no such folder: its sessions
   * are found by their records (`expireIdle`).
   */
  async names(repo: string): Promise<string[]> {
    if (this.layout.kind === 'content-addressed') return [];
    return this.driver.list(layout.uploadsDir(repo));
  }

  /** A name of `names` as stored (size, time), or undefined when gone. */
  async fileInfo(repo: string, name: string): Promise<FileInfo | undefined> {
    if (this.layout.kind === 'content-addressed' || name.includes('/')) return undefined;
    return this.driver.stat(`${layout.uploadsDir(repo)}/${name}`).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  }

  /**
   * Deletes the tombstones of sessions whose ids are no longer accepted anyway (background job);
   * returns how many.
   */
  async purgeFinished(now: number): Promise<number> {
    const before = now - UNTOUCHED_UPLOAD_TTL_MS - TOMBSTONE_MARGIN_MS;
    const limit = 10_000;
    let total = 0;
    for (;;) {
      const purged = await this.sessions.purgeFinished(before, limit);
      total += purged;
      if (purged < limit) return total;
    }
  }

  /** Discards every recorded session untouched since `idleSince`, files or not; returns how many. */
  async expireIdle(idleSince: number): Promise<number> {
    let count = 0;
    for (const session of await this.sessions.idle(idleSince, 1000)) {
      if ((await this.expire(session.repository, session.id, idleSince)) !== undefined) count++;
    }
    return count;
  }

  /** Single-request upload (POST ?digest=). */
  async monolithic(repo: string, digest: Digest, body: Readable, contentLength?: number): Promise<BlobInfo> {
    const { deduplicated, ...info } = await writeWholeBlob(
      this.driver,
      this.blobs,
      repo,
      digest,
      body,
      contentLength,
    );
    await this.blobs.recordStored(repo, digest, info.size, { deduplicated });
    return info;
  }

  /**
   * A PUT that brings the whole blob to an empty session: a monolithic upload that ends the session.
   * No claim is taken: the bytes go to the blob's own place, verified before they become visible,
   * so a concurrent request on the session cannot spoil them (two such PUTs each store a verified
   * blob). A PATCH writing right now still answers 416. The session is finished afterwards only if
   * nobody changed it meanwhile; a failure leaves it untouched, so the client can try again.
   * This spares the claim's metadata read and write per blob, a third of the session bookkeeping
   * of a small push (issue 14). The tombstone and the blob's index record are written together
   * (one group commit): should the record fail, the client starts a new upload, and the verified
   * file in place is found again by the next upload of the same digest.
   */
  private async completeInOnePass(
    session: UploadSession,
    digest: Digest,
    body: Readable,
    options: ChunkOptions,
  ): Promise<BlobInfo> {
    if (options.range && options.range.start !== 0) {
      body.resume();
      throw rangeNotSatisfiable(0, 'chunk must start at offset 0');
    }
    if (session.writer && session.writer.until > Date.now()) {
      body.resume();
      throw rangeNotSatisfiable(session.offset, 'another request is writing this upload');
    }
    try {
      const { deduplicated, ...info } = await writeWholeBlob(
        this.driver,
        this.blobs,
        session.repository,
        digest,
        body,
        options.contentLength,
      );
      this.digests.forget(session.id);
      await Promise.all([
        this.blobs.recordStored(session.repository, digest, info.size, { deduplicated }),
        this.sessions.finish(session, session.version),
      ]);
      return info;
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'DIGEST_INVALID')
        await this.discard(session).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The session `id` of `repo`: its record once it has one; before that, the session its signed id
   * describes (version 0: no record), while the id is young enough. A finished session, an id
   * signed for another repository or not by this store, or a legacy id without a record: unknown.
   */
  private async session(repo: string, id: string): Promise<UploadSession> {
    const unknown = (): RegistryError =>
      // A malformed id is not echoed back.
      new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${isUploadId(id) ? id : 'id'} unknown to ${repo}`);
    const legacy = isLegacyUploadId(id);
    const signed = legacy ? undefined : (await this.ids()).read(repo, id);
    if (!legacy && !signed) throw unknown();
    const session = await this.sessions.get(id);
    if (typeof session === 'object') {
      if (session.repository !== repo) throw unknown();
      return session;
    }
    if (session === 'finished' || !signed) throw unknown();
    if (Date.now() - signed.issuedAt > UNTOUCHED_UPLOAD_TTL_MS) throw unknown();
    return {
      id,
      repository: repo,
      algorithm: signed.algorithm,
      offset: 0,
      parts: [],
      hashedBytes: 0,
      nextPart: 1,
      version: 0,
      createdAt: signed.issuedAt,
      updatedAt: signed.issuedAt,
    };
  }

  /**
   * Takes the session's writer claim (step 1). A live claim of another request, or a lost swap,
   * means another request is writing this session now: 416, with the offset as recorded.
   */
  private async claim(session: UploadSession): Promise<UploadSession> {
    const now = Date.now();
    if (session.writer && session.writer.until > now) {
      throw rangeNotSatisfiable(session.offset, 'another request is writing this upload');
    }
    const writer = { token: randomUUID(), until: now + CLAIM_MS };
    // A session without a record gets one now, claimed in the same write.
    const claimed =
      session.version === 0
        ? await this.sessions.create({ ...session, writer })
        : await this.sessions.update(session.id, session.version, { writer });
    if (!claimed) {
      const current = await this.sessions.get(session.id);
      if (typeof current !== 'object')
        throw new RegistryError(
          'BLOB_UPLOAD_UNKNOWN',
          `upload ${session.id} unknown to ${session.repository}`,
        );
      throw rangeNotSatisfiable(current.offset, 'another request is writing this upload');
    }
    return claimed;
  }

  /** Gives the claim back without recording anything (a failed or refused write). */
  private async release(claimed: UploadSession): Promise<void> {
    await this.sessions.update(claimed.id, claimed.version, { writer: null });
  }

  /** Steps 1–3 for one chunk; returns the record after it. */
  private async writeChunk(
    session: UploadSession,
    body: Readable,
    options: ChunkOptions,
  ): Promise<UploadSession> {
    const { range, contentLength } = options;
    if (range) {
      if (range.end < range.start) {
        body.resume();
        throw new RegistryError('BLOB_UPLOAD_INVALID', 'Content-Range ends before it starts');
      }
      if (range.start !== session.offset) {
        body.resume();
        throw rangeNotSatisfiable(session.offset, `chunk must start at offset ${session.offset}`);
      }
      if (contentLength !== undefined && contentLength !== range.end - range.start + 1) {
        body.resume();
        throw new RegistryError('SIZE_INVALID', 'Content-Range does not match Content-Length');
      }
    }
    let current = await this.claim(session).catch((err: unknown) => {
      body.resume();
      throw err;
    });
    const token = current.writer!.token;
    // Renew the claim while the bytes flow; every renewal is a swap, so `current` tracks its version.
    let renewing = Promise.resolve();
    let lost = false;
    const timer = setInterval(() => {
      renewing = renewing.then(async () => {
        if (lost) return;
        const renewed = await this.sessions
          .update(current.id, current.version, { writer: { token, until: Date.now() + CLAIM_MS } })
          .catch(() => undefined);
        if (renewed) current = renewed;
        else lost = true;
      });
    }, RENEW_MS);
    timer.unref();
    let part: PartInfo;
    let hashing: ChunkHasher;
    try {
      const uploadPath = this.layout.upload(current.repository, current.id);
      const storage = current.storage ?? {
        path: uploadPath,
        uploadId: await this.driver.startParts(uploadPath),
      };
      if (!current.storage) {
        const withStorage = await this.sessions.update(current.id, current.version, { storage });
        if (!withStorage) throw rangeNotSatisfiable(current.offset, 'the upload changed while writing');
        current = withStorage;
      }
      hashing = await this.digests.chunkHasher(current);
      const hasher = hashing;
      const through = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          hasher.update(chunk);
          callback(null, chunk);
        },
      });
      const [written, piped] = await Promise.allSettled([
        this.driver.writePart(storage.path, storage.uploadId, current.nextPart, through),
        feed(body, through),
      ]);
      // The driver's failure says more than the body's (storage full, not a hang-up).
      if (written.status === 'rejected') throw written.reason;
      if (piped.status === 'rejected') throw piped.reason;
      part = written.value;
    } catch (err) {
      this.digests.forget(current.id);
      clearInterval(timer);
      await renewing;
      if (!lost) await this.release(current).catch(() => undefined);
      throw writeFailure(err);
    }
    clearInterval(timer);
    await renewing;
    if (contentLength !== undefined && part.size !== contentLength) {
      this.digests.forget(current.id);
      if (!lost) await this.release(current).catch(() => undefined);
      throw new RegistryError(
        'SIZE_INVALID',
        `received ${part.size} bytes, Content-Length said ${contentLength}`,
      );
    }
    const offset = current.offset + part.size;
    const state = hashing.finish(offset, part.etag);
    const recorded = lost
      ? undefined
      : await this.sessions.update(current.id, current.version, {
          offset,
          parts: [...current.parts, part],
          hashState: state ?? null,
          hashedBytes: state ? offset : 0,
          nextPart: part.number + 1,
          writer: null,
        });
    if (!recorded) {
      this.digests.forget(current.id);
      // Our claim expired and another request took the session: this part is never listed.
      const now = await this.sessions.get(current.id);
      const offset = typeof now === 'object' ? now.offset : current.offset;
      throw rangeNotSatisfiable(offset, 'the upload changed while writing');
    }
    return recorded;
  }

  /**
   * The digest read back from storage: under another algorithm than the session's (a sha256
   * session closed with a sha512 digest), or when no digest of the recorded bytes is at hand.
   * The parts are assembled first (completion is idempotent).
   */
  private async rehash(session: UploadSession, algorithm: DigestAlgorithm): Promise<string> {
    const hasher = createHasher(algorithm);
    if (session.storage) {
      await this.assembleParts(session);
      for await (const chunk of await this.driver.reader(session.storage.path))
        hasher.update(chunk as Buffer);
    }
    return hasher.digest('hex');
  }

  /** Assembles the recorded parts into the upload's file; idempotent (a retried completion finds the file). */
  private async assembleParts(session: UploadSession): Promise<void> {
    const { storage } = session;
    if (!storage) return;
    try {
      await this.driver.completeParts(storage.path, storage.uploadId, session.parts);
    } catch (err) {
      // Completed before: by a crashed earlier completion, or by `rehash`.
      if (!isNotFound(err)) throw err;
      const info = await this.driver.stat(storage.path).catch(() => undefined);
      if (!info || info.size !== session.offset) throw err;
    }
  }

  /** Turns the recorded parts into the blob under its digest (the caller holds the claim). */
  private async assemble(session: UploadSession, digest: Digest): Promise<void> {
    const { storage } = session;
    if (!storage) {
      // Not one byte arrived: the empty blob.
      await this.blobs.writeVerified(session.repository, digest, Buffer.alloc(0));
      return;
    }
    await this.assembleParts(session);
    await this.blobs.place(session.repository, digest, storage.path, session.offset);
  }

  /** Drops the session's bytes and finishes it (a tombstone: the id is refused from now on). */
  private async discard(session: UploadSession): Promise<void> {
    this.digests.forget(session.id);
    if (session.storage) {
      await this.driver.abortParts(session.storage.path, session.storage.uploadId);
      await this.driver.delete(session.storage.path);
    }
    await this.sessions.finish(session);
  }
}
