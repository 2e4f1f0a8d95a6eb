/**
 * One blob's download from an upstream in the pull-through cache: its bytes go into a spool that
 * any number of clients read while it fills (spool.ts), the whole transfer is bounded by the
 * route's `syncTimeout`, and the verified blob is stored whether or not a client keeps reading.
 */
import type { Logger } from 'pino';
import type { Digest } from '../oci/digest.js';
import { errorText } from '../util/error-text.js';
import { BlobSpool } from './spool.js';
import { UpstreamError, type UpstreamBlob } from './upstream.js';

/** A blob download in progress: readers follow its spool. */
export interface BlobDownload {
  spool: BlobSpool;
  upstream: string;
  /** Settles when the blob is stored (or the download failed) and the spool is released. */
  done: Promise<void>;
  abort(reason: Error): void;
}

export interface DownloadOptions {
  log: Logger;
  repo: string;
  digest: Digest;
  /** The upstream's name, for logs and errors. */
  upstream: string;
  /** The upstream's answer, whose body is read into the spool. */
  blob: UpstreamBlob;
  spoolDir: string;
  /** How long the whole transfer may take (the route's `syncTimeout`). */
  timeoutMs: number;
  /** Stores the blob from the spool once `filled` settles (or while it fills). */
  store(spool: BlobSpool, filled: Promise<void>): Promise<void>;
  /** Called as soon as the download exists, before anything of it can settle. */
  onStart(download: BlobDownload): void;
  /** Called once the download is over, stored or failed, and its spool released. */
  onDone(download: BlobDownload): void;
}

/** Starts filling a spool from `blob`; returns once the spool exists, the transfer under way. */
export async function beginDownload(o: DownloadOptions): Promise<BlobDownload> {
  let spool: BlobSpool;
  try {
    spool = await BlobSpool.create(o.spoolDir, o.digest, o.blob.size);
  } catch (err) {
    o.blob.body.destroy();
    throw err;
  }
  const abort = (reason: Error): void => {
    o.blob.body.destroy(reason);
  };
  const budget = setTimeout(
    () =>
      abort(
        new UpstreamError(
          'timeout',
          o.upstream,
          `blob ${o.digest.value} took longer than syncTimeout (${o.timeoutMs} ms)`,
        ),
      ),
    o.timeoutMs,
  );
  budget.unref();
  const filled = spool.fill(o.blob.body);
  const stored = o.store(spool, filled);
  const where = { repo: o.repo, digest: o.digest.value, upstream: o.upstream };
  const download: BlobDownload = {
    spool,
    upstream: o.upstream,
    abort,
    done: Promise.allSettled([filled, stored]).then(([fill, store]) => {
      clearTimeout(budget);
      spool.release();
      o.onDone(download);
      if (fill.status === 'rejected') {
        o.log.warn({ ...where, err: errorText(fill.reason) }, 'blob download from upstream failed');
      } else if (store.status === 'rejected') {
        o.log.error({ ...where, err: errorText(store.reason) }, 'storing a blob from upstream failed');
      } else {
        o.log.info({ ...where, size: spool.written }, 'blob cached from upstream');
      }
    }),
  };
  o.onStart(download);
  return download;
}
