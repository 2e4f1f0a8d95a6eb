/**
 * What happened in the registry, for observers that must not be in the write path's way
 * (metrics, audit, search indexes). Listeners run synchronously after the change is durable;
 * they must be cheap and must not throw.
 */
import { EventEmitter } from 'node:events';

export interface RegistryEventMap {
  /** A manifest was stored (and these tags now point at it). `fresh`: see 'blob-stored'. */
  'manifest-pushed': [
    { repo: string; digest: string; mediaType: string; size: number; tags: string[]; fresh: boolean },
  ];
  /** A manifest was served to a client (GET, not HEAD). */
  'manifest-pulled': [{ repo: string; digest: string; reference: string }];
  /** A tag or a manifest (with every tag on it) was deleted. */
  'manifest-deleted': [{ repo: string; digest: string; tag?: string }];
  /**
   * A blob finished uploading or was mounted into a repository. `fresh`: the store itself already
   * makes it look new to garbage collection — its file was written, linked or copied at this
   * moment (the age GC reads from it), or its store time was recorded with it — so an observer
   * that records store times for GC's grace need not (issue 14: three fewer rows per small push).
   * False when the file is older than the event: an upload of a blob already present, a mount
   * into a repository that had it, an upload file moved into place (dated by its last write).
   */
  'blob-stored': [{ repo: string; digest: string; size: number; fresh: boolean }];
  'blob-deleted': [{ repo: string; digest: string }];
}

export class RegistryEvents extends EventEmitter<RegistryEventMap> {}
