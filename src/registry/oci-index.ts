/**
 * A repository's `index.json`: the OCI image layout's list of manifests, tags as ref.name
 * annotations. It is the truth for what a repository holds; every change is a read-modify-write
 * under the repository's lock, written atomically (temporary file, fsync, rename).
 */
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/errors.js';
import { layout, TAG_ANNOTATION } from './layout.js';

export interface OciIndexDocument {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export const OCI_LAYOUT_CONTENT = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));

export function emptyIndex(): OciIndexDocument {
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
}

export function tagOf(d: Descriptor): string | undefined {
  return d.annotations?.[TAG_ANNOTATION];
}

/** A cheap fingerprint of index.json's on-disk state, to notice changes made behind our back. */
export function stampOf(size: number, mtime: Date): string {
  return `${size}:${mtime.getTime()}`;
}

export async function readIndex(driver: StorageDriver, repo: string): Promise<OciIndexDocument | undefined> {
  try {
    const doc = JSON.parse(
      (await driver.getContent(layout.index(repo))).toString('utf8'),
    ) as OciIndexDocument;
    if (!Array.isArray(doc.manifests)) doc.manifests = [];
    for (const entry of doc.manifests) frozenEntry(entry);
    return doc;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Writes index.json (creating the layout's oci-layout file first) and returns its new stamp.
 * `layoutExists`: the caller just read an index.json, so the layout's oci-layout file is there
 * (both are created together and removed together) and need not be checked again. `after`: what
 * must be stored before the new index.json may appear (the manifest it lists); it is written
 * meanwhile (see the storage driver's `PutOptions.after`).
 */
export async function writeIndex(
  driver: StorageDriver,
  repo: string,
  doc: OciIndexDocument,
  options: { layoutExists?: boolean; after?: Promise<unknown> } = {},
): Promise<string> {
  if (!options.layoutExists) {
    try {
      await driver.stat(layout.ociLayout(repo));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await driver.putContent(layout.ociLayout(repo), OCI_LAYOUT_CONTENT);
    }
  }
  const data = Buffer.from(serializeIndex(doc));
  await driver.putContent(layout.index(repo), data, options.after ? { after: options.after } : {});
  const info = await driver.stat(layout.index(repo));
  return stampOf(info.size, info.modTime);
}

/**
 * Each entry's JSON, kept while the entry object lives. Every push rewrites index.json whole, and
 * serialising the same few hundred entries again on each one cost a quarter of a millisecond of
 * the event loop per push (issue 14). Entries are never changed in place: every change below
 * makes a new object, and entries are frozen (`frozenEntry`), so a kept JSON never goes stale.
 */
const entryJson = new WeakMap<Descriptor, string>();

/** index.json's bytes as JSON text: `doc`'s own fields, then its entries (from `entryJson`). */
export function serializeIndex(doc: OciIndexDocument): string {
  const { manifests, ...rest } = doc;
  const entries = manifests.map((entry) => {
    let json = entryJson.get(entry);
    if (json === undefined) {
      json = JSON.stringify(frozenEntry(entry));
      entryJson.set(entry, json);
    }
    return json;
  });
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"manifests":[${entries.join(',')}]}`;
}

/** Freezes an entry and everything in it: a change in place would throw, not go unwritten. */
function frozenEntry(entry: Descriptor): Descriptor {
  const freeze = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
    Object.freeze(value);
    for (const inner of Object.values(value)) freeze(inner);
  };
  freeze(entry);
  return entry;
}

/**
 * Points `tag` at `entry`. The manifest the tag left stays in the index untagged (still pullable
 * by digest, collectable by GC) unless another entry still holds its digest.
 */
export function setTag(doc: OciIndexDocument, entry: Descriptor, tag: string): void {
  // One pass finds both the tag's current entry and any untagged entry of the same digest: every
  // push runs this over the whole index (issue 14).
  let previous = -1;
  let untaggedSame = false;
  doc.manifests.forEach((d, i) => {
    const held = tagOf(d);
    if (held === tag) previous = i;
    else if (held === undefined && d.digest === entry.digest) untaggedSame = true;
  });
  if (previous !== -1) {
    const old = doc.manifests[previous]!;
    doc.manifests.splice(previous, 1);
    if (old.digest !== entry.digest) keepUntagged(doc, old);
  }
  // An untagged entry for the same digest is superseded by the tagged one.
  if (untaggedSame) {
    doc.manifests = doc.manifests.filter((d) => !(d.digest === entry.digest && tagOf(d) === undefined));
  }
  const annotations = { ...entry.annotations, [TAG_ANNOTATION]: tag };
  doc.manifests.push({ ...entry, annotations });
}

/** Ensures the digest is listed at least once (pushed by digest, or a tag moved away from it). */
export function keepUntagged(doc: OciIndexDocument, entry: Descriptor): void {
  if (doc.manifests.some((d) => d.digest === entry.digest)) return;
  const { annotations, ...rest } = entry;
  const kept = { ...annotations };
  delete kept[TAG_ANNOTATION];
  doc.manifests.push(Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest);
}

/** Removes a tag; its manifest stays as an untagged entry if nothing else lists it. Returns false if absent. */
export function removeTag(doc: OciIndexDocument, tag: string): boolean {
  const at = doc.manifests.findIndex((d) => tagOf(d) === tag);
  if (at === -1) return false;
  const [old] = doc.manifests.splice(at, 1);
  keepUntagged(doc, old!);
  return true;
}

/** Removes every entry of a digest. Returns false if it was not listed. */
export function removeDigest(doc: OciIndexDocument, digest: string): boolean {
  const before = doc.manifests.length;
  doc.manifests = doc.manifests.filter((d) => d.digest !== digest);
  return doc.manifests.length !== before;
}
