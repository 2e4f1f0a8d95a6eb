/**
 * The `UploadSessions` port: blob upload sessions as records in shared state, so that any Berth
 * process can continue any session. A session is a row, not a file, until its first byte.
 *
 * Every change is a compare-and-swap on `version`: two processes that both read version 7 and
 * both try to write cannot both succeed. The registry's upload service claims the next chunk
 * with one swap (`writer`), writes the bytes as a storage part, and records the part, the new
 * offset and the hash state with a second swap; a PATCH that loses the claim answers 416.
 *
 * Implementations: SQLite (`sqlite/upload-sessions.ts`, processes on one machine), in-memory
 * (`memory/upload-sessions.ts`, one process: tests); PostgreSQL next. Each runs the contract in
 * `upload-sessions.contract.ts`.
 */
import type { PartInfo } from '../storage/driver.js';

export type UploadAlgorithm = 'sha256' | 'sha512';

/** A claim on writing the session's next chunk, held by one request until `until` (ms since the epoch). */
export interface UploadWriterClaim {
  token: string;
  until: number;
}

export interface UploadSession {
  /** The upload id in the session's Location. */
  id: string;
  repository: string;
  algorithm: UploadAlgorithm;
  /** Bytes received and recorded: the sum of `parts` sizes, where the next chunk must start. */
  offset: number;
  /** The storage parts holding the bytes, in order. */
  parts: PartInfo[];
  /** The storage driver's multipart upload, once the first byte arrived. */
  storage?: { path: string; uploadId: string };
  /**
   * The running digest's serialised state after `hashedBytes` bytes (a WASM hasher's `save()`).
   * Current when `hashedBytes === offset`: the closing PUT then finishes the digest without
   * reading the upload back.
   */
  hashState?: Uint8Array;
  hashedBytes: number;
  /** The next storage part number to hand out; never reused, so an abandoned write cannot collide. */
  nextPart: number;
  writer?: UploadWriterClaim;
  /** Bumped by every change; the compare-and-swap token. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface NewUploadSession {
  id: string;
  repository: string;
  algorithm: UploadAlgorithm;
}

/**
 * Fields a swap may set. `writer: null` and `hashState: null` clear those fields; absent fields keep
 * their value. `updatedAt` is set by the store.
 */
export interface UploadSessionChange {
  offset?: number;
  parts?: PartInfo[];
  storage?: { path: string; uploadId: string };
  hashState?: Uint8Array | null;
  hashedBytes?: number;
  nextPart?: number;
  writer?: UploadWriterClaim | null;
}

export interface UploadSessions {
  /** Records a new session at offset 0, version 1. Throws when the id exists. */
  create(session: NewUploadSession): Promise<UploadSession>;
  get(id: string): Promise<UploadSession | undefined>;
  /**
   * Applies `change` if the session is still at `expectedVersion`, and returns the new record
   * (version + 1); undefined when it changed meanwhile or no longer exists.
   */
  update(
    id: string,
    expectedVersion: number,
    change: UploadSessionChange,
  ): Promise<UploadSession | undefined>;
  /**
   * Deletes the session; with `expectedVersion`, only if still at that version. Returns whether a
   * record was deleted.
   */
  delete(id: string, expectedVersion?: number): Promise<boolean>;
  /** Sessions not changed since `before` (ms since the epoch), oldest first, at most `limit`: for purging. */
  idle(before: number, limit: number): Promise<UploadSession[]>;
}

/** Applies a change to a record: the one definition of the swap's effect, shared by the stores. */
export function applyUploadChange(
  session: UploadSession,
  change: UploadSessionChange,
  now: number,
): UploadSession {
  const next: UploadSession = { ...session, version: session.version + 1, updatedAt: now };
  if (change.offset !== undefined) next.offset = change.offset;
  if (change.parts !== undefined) next.parts = change.parts.map((p) => ({ ...p }));
  if (change.storage !== undefined) next.storage = { ...change.storage };
  if (change.hashedBytes !== undefined) next.hashedBytes = change.hashedBytes;
  if (change.nextPart !== undefined) next.nextPart = change.nextPart;
  if (change.hashState === null) delete next.hashState;
  else if (change.hashState !== undefined) next.hashState = new Uint8Array(change.hashState);
  if (change.writer === null) delete next.writer;
  else if (change.writer !== undefined) next.writer = { ...change.writer };
  return next;
}
