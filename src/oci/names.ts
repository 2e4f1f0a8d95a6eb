import { RegistryError } from './errors.js';

// The spec's <name> grammar, one path component at a time.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/**
 * Clients limit `host[:port]/name` to 255 characters; 255 for the name alone is the ceiling
 * Berth enforces so that a name can always live as a path on disk.
 */
export const MAX_NAME_LENGTH = 255;

/**
 * The entries of an OCI image layout (image-layout spec). Each repository is stored as such a
 * layout with nested repositories as sub-folders, so a component equal to one of these would
 * collide with its parent's files (`team/web/index.json`, `app/blobs/sha256`). They match the
 * spec's grammar but are refused everywhere a name is accepted. Other layout entries Berth uses
 * (`.uploads`, `.sync`, `_berth`) already fail the grammar.
 */
export const OCI_LAYOUT_ENTRIES: ReadonlySet<string> = new Set(['blobs', 'index.json', 'oci-layout']);

export function isValidRepositoryName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  return name.split('/').every((c) => COMPONENT.test(c) && !OCI_LAYOUT_ENTRIES.has(c));
}

export function assertRepositoryName(name: string): void {
  if (!isValidRepositoryName(name)) {
    throw new RegistryError('NAME_INVALID', `invalid repository name ${JSON.stringify(name.slice(0, 300))}`);
  }
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
