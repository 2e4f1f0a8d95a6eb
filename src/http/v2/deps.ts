import type { Registry } from '../../registry/registry.js';
import type { AccessGuard } from '../access.js';

/** What the /v2 routes need: the registry services and the access guard. */
export interface V2Deps {
  registry: Registry;
  access: AccessGuard;
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
