import type { Registry } from '../../registry/registry.js';
import type { AccessGuard } from '../access.js';
import type { RequestContext } from '../context.js';

/**
 * A pull-through source (the sync extension): consulted on reads under the repositories it
 * mirrors, after authorization and before the local store answers.
 */
export interface PullThrough {
  /**
   * Makes sure a manifest reference is present and fresh locally, fetching it from upstream when
   * it is missing or its freshness window ran out. With a cached copy, upstream trouble is logged
   * and the copy answers; with nothing cached it throws the error the client should see (404
   * MANIFEST_UNKNOWN, 429, or a 502/504 naming the unreachable upstream).
   */
  ensureManifest(ctx: RequestContext, repo: string, reference: string): Promise<void>;
  /**
   * Serves a blob that is missing locally from upstream, storing it while streaming it to the
   * client. Returns false when this source has nothing to do with the repository or blob.
   */
  serveBlob(ctx: RequestContext, repo: string, digest: string): Promise<boolean>;
  /** Whether `repo` lies under a destination this source fills from an upstream. */
  covers(repo: string): boolean;
}

/** What the /v2 routes need: the registry services, the access guard, and optional pull-through. */
export interface V2Deps {
  registry: Registry;
  access: AccessGuard;
  pullThrough?: PullThrough;
}

export function blobLocation(name: string, digest: string): string {
  return `/v2/${name}/blobs/${digest}`;
}

export function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

export function manifestLocation(name: string, digest: string): string {
  return `/v2/${name}/manifests/${digest}`;
}

/** `Range: 0-<last byte>` as upload responses carry it (`0-0` for an empty upload, as Distribution does). */
export function uploadRange(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}
