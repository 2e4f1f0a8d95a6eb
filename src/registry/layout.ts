/**
 * Where things live in storage. Each repository is a valid OCI image layout, the way zot stores
 * it, so `skopeo copy oci:<root>/<repo>:<tag> ...` reads it directly and a zot data directory is
 * served as it is:
 *
 *   <root>/
 *   ├── _berth/
 *   │   └── meta.db                  embedded metadata: an index of the layouts below, API keys, sessions
 *   └── <repository name>/            nested names are nested folders (library/nginx)
 *       ├── oci-layout               {"imageLayoutVersion": "1.0.0"}
 *       ├── index.json               every manifest; tags are org.opencontainers.image.ref.name annotations
 *       ├── blobs/
 *       │   ├── sha256/<hex>         layers, configs and manifests, content-addressed
 *       │   └── sha512/<hex>
 *       └── .uploads/
 *           ├── <uuid>.parts/<id>/<n>.<uuid>   an upload's parts (filesystem driver), one file per chunk
 *           └── <uuid>                         the assembled upload, for the moment before its rename
 *
 * An upload session itself is a record (offset, parts, hash state) in the metadata database, not a
 * file: it exists before its first byte, and any process can continue it.
 *
 * Names starting with `_` or `.` can never be repository components (the spec's name grammar),
 * so Berth's own folders cannot collide with a repository; `blobs`, `index.json` and `oci-layout`
 * match the grammar but are refused as components by `oci/names.ts` (`OCI_LAYOUT_ENTRIES`).
 */
import type { Digest } from '../oci/digest.js';
import { OCI_LAYOUT_ENTRIES } from '../oci/names.js';
import { joinPath } from '../storage/driver.js';

export const META_DIR = '_berth';
export const META_DB_FILE = '_berth/meta.db';
export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BLOBS_DIR = 'blobs';
export const UPLOADS_DIR = '.uploads';
export const TAG_ANNOTATION = 'org.opencontainers.image.ref.name';

export const layout = {
  repoDir: (repo: string): string => repo,
  ociLayout: (repo: string): string => joinPath(repo, OCI_LAYOUT_FILE),
  index: (repo: string): string => joinPath(repo, INDEX_FILE),
  blob: (repo: string, digest: Digest): string => joinPath(repo, BLOBS_DIR, digest.algorithm, digest.hex),
  blobsDir: (repo: string): string => joinPath(repo, BLOBS_DIR),
  uploadsDir: (repo: string): string => joinPath(repo, UPLOADS_DIR),
  upload: (repo: string, id: string): string => joinPath(repo, UPLOADS_DIR, id),
};

/** Folder names inside a repository that are never nested repositories. */
export const RESERVED_REPO_ENTRIES: ReadonlySet<string> = new Set([
  ...OCI_LAYOUT_ENTRIES,
  UPLOADS_DIR,
  '.sync',
]);
