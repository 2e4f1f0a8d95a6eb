/**
 * Whole blobs from one request (`POST ?digest=`, a `PUT` bringing every byte to an empty session):
 * hashed on the way with node:crypto, written straight to the blob's place and made visible only
 * once verified; and the body plumbing the upload service shares with its chunked writes.
 */
import { finished, Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHasher, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { StorageDriver } from '../storage/driver.js';
import { isStorageFull } from '../storage/errors.js';
import type { BlobInfo, BlobStore } from './blobs.js';

/**
 * A whole-blob body declared no larger than this is read into memory and written in one piece
 * (`writeSmall`); larger ones stream. At most this much per request is buffered.
 */
const SMALL_BODY = 1024 * 1024;

/**
 * Pipes a request body into `destination` and resolves once the destination has finished. Unlike
 * `pipeline`, a failure of the destination (a full disk) leaves the body alive and flowing into
 * nothing, so that the error answer can still reach the client after the rest of the body is
 * drained; `pipeline` would destroy the request and reset the connection.
 */
export function feed(body: Readable, destination: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error | null): void => {
      if (settled) return;
      settled = true;
      stopBody();
      stopDestination();
      if (!err) {
        resolve();
        return;
      }
      body.unpipe(destination);
      if (!destination.destroyed) destination.destroy(err);
      if (!body.destroyed) body.resume();
      reject(err);
    };
    const stopBody = finished(body, { writable: false }, (err) => {
      if (err) settle(err);
    });
    const stopDestination = finished(destination, { readable: false }, (err) => settle(err));
    body.pipe(destination);
  });
}

/** Refuses a body whose length or digest is not what the request said, as the spec's codes. */
function checkBody(
  received: number,
  contentLength: number | undefined,
  actualHex: string,
  digest: Digest,
): void {
  if (contentLength !== undefined && received !== contentLength) {
    throw new RegistryError(
      'SIZE_INVALID',
      `received ${received} bytes, Content-Length said ${contentLength}`,
    );
  }
  if (actualHex !== digest.hex) {
    const shown = `${digest.algorithm}:${actualHex}`;
    throw new RegistryError('DIGEST_INVALID', `upload digest is ${shown}, not ${digest.value}`, {
      detail: { expected: digest.value, actual: shown },
    });
  }
}

/** The error a failed body write becomes: storage full is ours (507), anything else the client's. */
export function writeFailure(err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  if (isStorageFull(err))
    return new RegistryError('STORAGE_FULL', 'the registry is out of storage space', { cause: err });
  return new RegistryError('BLOB_UPLOAD_INVALID', 'upload body was interrupted', { cause: err });
}

/**
 * A whole blob in its place; `deduplicated`: dedupe was settled while putting it there (linked to
 * another repository's copy, or no copy to link), so recording it need not look again.
 */
export interface WholeBlob extends BlobInfo {
  deduplicated: boolean;
}

/**
 * Writes a whole blob from one request straight to its place: one file, hashed with node:crypto
 * as it is written, fsynced, and made visible only once its digest is verified. The caller
 * records it in the index (`recordStored`, told whether dedupe was settled).
 */
export async function writeWholeBlob(
  driver: StorageDriver,
  blobs: BlobStore,
  repo: string,
  digest: Digest,
  body: Readable,
  contentLength?: number,
): Promise<WholeBlob> {
  if (contentLength !== undefined && contentLength <= SMALL_BODY) {
    return writeSmall(blobs, repo, digest, body, contentLength);
  }
  // Straight to the blob's final place: nothing is visible there before the commit.
  const target = blobs.path(repo, digest);
  const writer = await driver.writer(target).catch((err: unknown) => {
    body.resume();
    throw writeFailure(err);
  });
  const hasher = createHasher(digest.algorithm);
  let received = 0;
  try {
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        received += chunk.length;
        hasher.update(chunk);
        callback(null, chunk);
      },
    });
    await Promise.all([feed(body, hashing), pipeline(hashing, writer.stream)]);
    checkBody(received, contentLength, hasher.digest('hex'), digest);
    await writer.commit();
  } catch (err) {
    await writer.cancel().catch(() => undefined);
    throw writeFailure(err);
  }
  return { digest: digest.value, size: received, deduplicated: false };
}

/**
 * `writeWholeBlob` for a body whose declared length is small (configs, small layers): read into
 * memory and verified first, then stored with one `putContent` (durable and atomic, as the
 * writer's commit), or linked to another repository's copy (`BlobStore.putVerified`). No byte
 * reaches storage unless the digest matched, and the stream stages and the thread-pool round
 * trips of a streamed write are skipped (issue 14: 1 KiB pushes).
 */
async function writeSmall(
  blobs: BlobStore,
  repo: string,
  digest: Digest,
  body: Readable,
  contentLength: number,
): Promise<WholeBlob> {
  const hasher = createHasher(digest.algorithm);
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body) {
      const data = chunk as Buffer;
      received += data.length;
      hasher.update(data);
      chunks.push(data);
    }
  } catch (err) {
    throw writeFailure(err);
  }
  checkBody(received, contentLength, hasher.digest('hex'), digest);
  const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
  try {
    await blobs.putVerified(repo, digest, data);
    return { digest: digest.value, size: received, deduplicated: true };
  } catch (err) {
    throw writeFailure(err);
  }
}
