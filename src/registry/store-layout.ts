/**
 * The two ways the registry lays a store out, chosen once when the Registry is built. Only the
 * registry services (`registry/`) know which one is in force; HTTP, GC and scrub ask them.
 *
 * `per-repository` (the filesystem default, zot compatible; drawn in `layout.ts`): each repository
 * is an OCI image layout with its own `blobs/` and `index.json`, which is the truth; the metadata
 * index is rebuilt from the layouts at start-up (`reconcile.ts`).
 *
 * `content-addressed` (object stores, S3): every blob and manifest once per store, and the
 * metadata store is the truth for what each repository holds:
 *
 *   <rootdirectory>/
 *   ├── blobs/
 *   │   ├── sha256/<hex>        layers, configs and manifests, one object per digest for the store
 *   │   └── sha512/<hex>
 *   ├── _uploads/<uuid>         an assembled chunked upload, for the moment before its move into blobs/
 *   └── _s3parts/<uploadId>/    the S3 driver's parts of a chunked upload (storage/s3/driver.ts)
 *
 *   metadata store: repository membership of blobs (a cross-repository mount is a row, not a copy),
 *   manifests, tags, referrers, catalog. No index.json, nothing listed to answer a request.
 *
 * Why no index.json on an object store: a read-modify-write of one object per repository needs a
 * compare-and-swap S3 does not offer portably (Ceph ignores `If-Match` in its standard form), and
 * listing a bucket to answer the catalog costs one request per thousand keys. The rows are in a
 * database that replicas already share, under the repository lock.
 *
 * Bytes of a content-addressed blob leave the store only through garbage collection, once no
 * repository holds it and it is older than `gcDelay` (`BlobStore.sweepUnheld`).
 */
import type { Digest } from '../oci/digest.js';
import { BLOBS_DIR, layout } from './layout.js';

export type StoreLayoutKind = 'per-repository' | 'content-addressed';

export interface StoreLayout {
  readonly kind: StoreLayoutKind;
  /** Where a repository's blob (or manifest) lives. */
  blob(repo: string, digest: Digest): string;
  /** Where an upload session's parts are assembled. */
  upload(repo: string, id: string): string;
}

export const UPLOADS_PREFIX = '_uploads';

export const perRepositoryLayout: StoreLayout = {
  kind: 'per-repository',
  blob: layout.blob,
  upload: layout.upload,
};

export const contentAddressedLayout: StoreLayout = {
  kind: 'content-addressed',
  blob: (_repo, digest) => `${BLOBS_DIR}/${digest.algorithm}/${digest.hex}`,
  upload: (_repo, id) => `${UPLOADS_PREFIX}/${id}`,
};

/** The lock a content-addressed blob's membership changes and its sweep take. */
export function blobLockKey(digest: string): string {
  return `blob:${digest}`;
}
