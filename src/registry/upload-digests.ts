/**
 * The digests of upload sessions in progress, so that the closing PUT need not read the upload
 * back: node:crypto digests this process keeps for the sessions it wrote last, or (with
 * `persistHashState`) the WASM hasher's state stored in the session record after every chunk,
 * which any process can resume. Reading the upload back is the caller's (`rehash`), for when
 * neither covers the recorded bytes.
 */
import type { Hash } from 'node:crypto';
import { createHasher, type DigestAlgorithm } from '../oci/digest.js';
import { resumableHasher } from '../oci/resumable-hash.js';
import type { UploadSession } from '../meta/upload-sessions.js';
import { LruMap } from './lru.js';

/** Hashes one chunk; `finish` returns the state to store in the record, if it is kept there. */
export interface ChunkHasher {
  update(chunk: Buffer): void;
  finish(bytes: number, lastEtag: string): Uint8Array | undefined;
}

interface LocalHash {
  hash: Hash;
  bytes: number;
  lastEtag: string;
}

export class UploadDigests {
  /**
   * node:crypto digests of sessions this process wrote last, each valid for exactly the bytes up to
   * `bytes` ending with part `lastEtag` (checked against the record before use, so another
   * process's chunk in between is always noticed). A cache, never the only copy of anything:
   * without it the closing PUT re-reads the upload.
   */
  private readonly local = new LruMap<string, LocalHash>(10_000);

  constructor(
    private readonly persistHashState: boolean,
    /** The digest of the recorded bytes read back from storage. */
    private readonly rehash: (session: UploadSession, algorithm: DigestAlgorithm) => Promise<string>,
  ) {}

  /** Drops this process's digest of a session (finished, or its bytes no longer what it covers). */
  forget(id: string): void {
    this.local.delete(id);
  }

  /**
   * How the next chunk of a claimed session is hashed. With the state persisted: the WASM hasher,
   * resumed from the record. Otherwise node:crypto, continuing this process's own digest when it
   * covers exactly the recorded bytes; or no digest at all when another process wrote the last
   * chunk (the closing PUT then re-reads the upload).
   */
  async chunkHasher(session: UploadSession): Promise<ChunkHasher> {
    const stored = session.hashState !== undefined && session.hashedBytes === session.offset;
    if (this.persistHashState && (session.offset === 0 || stored)) {
      return wasmChunkHasher(session);
    }
    const local =
      this.localHash(session) ?? (session.offset === 0 ? createHasher(session.algorithm) : undefined);
    this.local.delete(session.id);
    if (!local) return { update: () => undefined, finish: () => undefined };
    return {
      update: (chunk) => {
        local.update(chunk);
      },
      finish: (bytes, lastEtag) => {
        this.local.set(session.id, { hash: local, bytes, lastEtag });
        return undefined;
      },
    };
  }

  /**
   * The digest of every recorded byte: from this process's own digest, or the stored state, so
   * that the upload is not read again; failing both (the last chunk went through another process),
   * by reading it back once.
   */
  async digestOf(session: UploadSession): Promise<string> {
    if (session.offset === 0) return createHasher(session.algorithm).digest('hex');
    const local = this.localHash(session);
    if (local) return local.copy().digest('hex');
    if (session.hashState && session.hashedBytes === session.offset) {
      return (await resumableHasher(session.algorithm, session.hashState)).digestHex();
    }
    return this.rehash(session, session.algorithm);
  }

  /** This process's digest of the session, when it covers exactly the recorded bytes. */
  private localHash(session: UploadSession): Hash | undefined {
    const local = this.local.get(session.id);
    const last = session.parts[session.parts.length - 1];
    if (!local || !last || local.bytes !== session.offset || local.lastEtag !== last.etag) return undefined;
    return local.hash;
  }
}

/** The WASM hasher resumed from the record; its state goes back into the record. */
async function wasmChunkHasher(session: UploadSession): Promise<ChunkHasher> {
  const hasher = await resumableHasher(session.algorithm, session.offset > 0 ? session.hashState : undefined);
  return {
    update: (chunk) => hasher.update(chunk),
    finish: () => hasher.save(),
  };
}
