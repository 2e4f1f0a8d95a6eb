/**
 * The `UploadSessions` port: blob upload sessions as records in shared state, so that any Berth
 * process can continue any session. A session has no record until its first byte (its signed id
 * says all there is to know: `registry/upload-ids.ts`); the first chunk's claim creates it, and
 * finishing it (completed or cancelled) leaves a tombstone, so that the id is refused from then
 * on, until the id is too old to be accepted anyway and the tombstone is purged.
 *
 * Every change is a compare-and-swap on `version`: two processes that both read version 7 and
 * both try to write cannot both succeed. The registry's upload service claims the next chunk
 * with one swap (`writer`), writes the bytes as a storage part, and records the part, the new
 * offset and the hash state with a second swap; a PATCH that loses the claim answers 416.
 *
 * Implementations: SQLite (`sqlite/upload-sessions.ts`, processes on one machine), in-memory
 * (`memory/upload-sessions.ts`, one process: tests), PostgreSQL (`postgres/upload-sessions.ts`,
 * replicas). Each runs the contract in
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
  /** When the id was issued (ms since the epoch); default now. */
  createdAt?: number;
  /** The first chunk's claim, taken in the same write that creates the record. */
  writer?: UploadWriterClaim;
}

/** What `finish` needs of a session: enough to leave a tombstone for one never recorded. */
export type FinishedUpload = Pick<UploadSession, 'id' | 'repository' | 'algorithm' | 'createdAt'>;

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
  /**
   * Records a new session at offset 0, version 1; undefined when the id is recorded already, live
   * or finished (another request's first chunk won the race, or the session ended).
   */
  create(session: NewUploadSession): Promise<UploadSession | undefined>;
  /** The live session; `'finished'` for a tombstone; undefined when the id was never recorded. */
  get(id: string): Promise<UploadSession | 'finished' | undefined>;
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
   * Ends the session, leaving a tombstone: with `expectedVersion`, only if the record is still at
   * that version, where 0 means "never recorded" (the tombstone is then inserted, and loses to a
   * record created meanwhile). Returns whether this call ended it.
   */
  finish(session: FinishedUpload, expectedVersion?: number): Promise<boolean>;
  /** Live sessions not changed since `before` (ms since the epoch), oldest first, at most `limit`: for purging. */
  idle(before: number, limit: number): Promise<UploadSession[]>;
  /** Deletes up to `limit` tombstones of sessions finished before `before`; returns how many. */
  purgeFinished(before: number, limit: number): Promise<number>;
  /**
   * The key that signs upload ids: random, made on first use, the same for every process on the
   * store. It mints nothing (an id it signs opens no more than a POST would), so it may sit in
   * the database and its backups.
   */
  idKey(): Promise<Uint8Array>;
}

/** Bytes of a new id key. */
export const UPLOAD_ID_KEY_BYTES = 32;

/** The record of a session created from `session` at `now`: the one definition shared by the stores. */
export function newUploadRecord(session: NewUploadSession, now: number): UploadSession {
  const record: UploadSession = {
    id: session.id,
    repository: session.repository,
    algorithm: session.algorithm,
    offset: 0,
    parts: [],
    hashedBytes: 0,
    nextPart: 1,
    version: 1,
    createdAt: session.createdAt ?? now,
    updatedAt: now,
  };
  if (session.writer) record.writer = { ...session.writer };
  return record;
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
