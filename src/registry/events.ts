/**
 * What happened in the registry, for observers that must not be in the write path's way
 * (metrics, audit, search indexes). Listeners run synchronously after the change is durable;
 * they must be cheap and must not throw.
 */
import { EventEmitter } from 'node:events';

export interface RegistryEventMap {
  /** A manifest was stored (and these tags now point at it). */
  'manifest-pushed': [{ repo: string; digest: string; mediaType: string; size: number; tags: string[] }];
  /** A manifest was served to a client (GET, not HEAD). */
  'manifest-pulled': [{ repo: string; digest: string; reference: string }];
  /** A tag or a manifest (with every tag on it) was deleted. */
  'manifest-deleted': [{ repo: string; digest: string; tag?: string }];
  /** A blob finished uploading or was mounted into a repository. */
  'blob-stored': [{ repo: string; digest: string; size: number }];
  'blob-deleted': [{ repo: string; digest: string }];
}

export class RegistryEvents extends EventEmitter<RegistryEventMap> {}
