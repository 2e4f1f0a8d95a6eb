/**
 * Manifests and tags: resolve, read, push and delete. In the per-repository layout the
 * repository's index.json is the truth and the metadata index follows it; in the content-addressed
 * layout (object stores, `store-layout.ts`) the metadata store is the truth and there is no
 * index.json. Every change happens under the repository's lock (the Coordination port's, so it
 * holds across processes), so concurrent pushes to one tag serialise and the last one wins whole.
 */
import { randomUUID } from 'node:crypto';
import { digestOf, parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseManifest, referrerDescriptor, type ParsedManifest } from '../oci/manifest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isValidTag } from '../oci/names.js';
import type { StorageDriver } from '../storage/driver.js';
import type { ManifestRecord, RegistryIndex } from '../meta/registry-index.js';
import { forEachLimited, type BlobStore } from './blobs.js';
import type { RegistryEvents } from './events.js';
import { repositoryLockKey, type Coordination } from '../coordination/coordination.js';
import { LruMap } from './lru.js';
import { isNotFound } from '../storage/errors.js';
import { layout, TAG_ANNOTATION } from './layout.js';
import type { StoreLayout } from './store-layout.js';
import {
  emptyIndex,
  keepUntagged,
  readIndex,
  removeDigest,
  removeTag,
  setTag,
  stampOf,
  writeIndex,
  type OciIndexDocument,
} from './oci-index.js';

/** A reference is either a tag or a digest; this tells them apart once. */
export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

export function parseReference(ref: string): Reference {
  if (ref.includes(':')) return { kind: 'digest', digest: parseDigest(ref) };
  if (!isValidTag(ref))
    throw new RegistryError('MANIFEST_INVALID', `invalid tag ${JSON.stringify(ref.slice(0, 200))}`);
  return { kind: 'tag', tag: ref };
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
  subject: string | null;
}

export interface PutOptions {
  /**
   * Whether every referenced blob and child manifest must already be in the repository (default
   * true). A pull-through cache stores a manifest before the blobs it will fetch on demand.
   */
  verifyReferences?: boolean;
  /**
   * Called for each tag the push would set, with the digest it points at now, while the
   * repository is locked: throwing refuses the push before anything changes.
   */
  authorizeTag?: (tag: string, currentDigest: string | undefined) => void;
}

export interface PutResult {
  digest: string;
  subject?: string;
  /** Tags now pointing at the manifest. */
  tags: string[];
}

export class ManifestService {
  /** Manifest bytes are small and immutable per digest: the hottest reads come from here. */
  private readonly bytes = new LruMap<string, Buffer>(4_096);
  /**
   * Parsed index.json documents as last written or read here, each with the stamp (size and time)
   * the file had. Valid only while the file still has that stamp, which is checked before every
   * use, so a change by another process (or by hand) is always seen; re-reading and re-parsing a
   * large index for every push was the top cost of pushes to a repository with many tags.
   */
  private readonly indexes = new LruMap<string, { stamp: string; doc: OciIndexDocument }>(256);

  constructor(
    private readonly driver: StorageDriver,
    private readonly index: RegistryIndex,
    private readonly blobs: BlobStore,
    private readonly events: RegistryEvents,
    private readonly coordination: Coordination,
    private readonly storeLayout: StoreLayout,
  ) {}

  /** The content-addressed layout keeps no index.json: the metadata store is the truth. */
  private get indexInStore(): boolean {
    return this.storeLayout.kind === 'content-addressed';
  }

  repositoryExists(repo: string): Promise<boolean> {
    return this.index.repositoryExists(repo);
  }

  /** Looks a reference up without reading content (HEAD, authorization decisions). */
  async resolve(repo: string, ref: Reference): Promise<StoredManifest | undefined> {
    const record =
      ref.kind === 'tag'
        ? await this.index.resolveTag(repo, ref.tag)
        : await this.index.manifest(repo, ref.digest.value);
    return (
      record && {
        digest: record.digest,
        mediaType: record.mediaType,
        size: record.size,
        subject: record.subject,
      }
    );
  }

  /** Like `resolve`, but throws the spec's 404s: NAME_UNKNOWN for the repository, MANIFEST_UNKNOWN otherwise. */
  async require(repo: string, ref: Reference): Promise<StoredManifest> {
    const found = await this.resolve(repo, ref);
    if (found) return found;
    if (!(await this.index.repositoryExists(repo))) {
      throw new RegistryError('NAME_UNKNOWN', `repository ${repo} not known to registry`, {
        detail: { name: repo },
      });
    }
    const what = ref.kind === 'tag' ? ref.tag : ref.digest.value;
    throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${what} unknown to ${repo}`);
  }

  async read(repo: string, manifest: StoredManifest): Promise<Buffer> {
    const key = `${repo}@${manifest.digest}`;
    const cached = this.bytes.get(key);
    if (cached) return cached;
    const data = await this.blobs.read(repo, parseDigest(manifest.digest));
    this.bytes.set(key, data);
    return data;
  }

  /**
   * Stores a manifest pushed by tag or digest (plus any `?tag=` tags), after checking that every
   * blob and child manifest it references is in the repository.
   */
  async put(
    repo: string,
    ref: Reference,
    data: Buffer,
    contentType: string,
    extraTags: string[] = [],
    options: PutOptions = {},
  ): Promise<PutResult> {
    const algorithm = ref.kind === 'digest' ? ref.digest.algorithm : 'sha256';
    const digest = parseDigest(digestOf(data, algorithm));
    if (ref.kind === 'digest' && ref.digest.value !== digest.value) {
      throw new RegistryError(
        'DIGEST_INVALID',
        `manifest digest is ${digest.value}, not ${ref.digest.value}`,
      );
    }
    for (const tag of extraTags) {
      if (!isValidTag(tag))
        throw new RegistryError('MANIFEST_INVALID', `invalid tag ${JSON.stringify(tag.slice(0, 200))}`);
    }
    const parsed = parseManifest(data, contentType);
    const tags = [...new Set(ref.kind === 'tag' ? [ref.tag, ...extraTags] : extraTags)];
    const descriptor: Descriptor = { mediaType: parsed.mediaType, digest: digest.value, size: data.length };
    const fresh = await this.withRepositoryLock(repo, async (): Promise<boolean> => {
      for (const tag of tags) options.authorizeTag?.(tag, (await this.index.resolveTag(repo, tag))?.digest);
      // Checked under the repository lock, which garbage collection also takes before deleting
      // anything: a blob cannot vanish between this check and the index update.
      if (options.verifyReferences !== false) await this.checkReferences(repo, parsed);
      if (this.indexInStore) {
        const written = await this.blobs.writeVerified(repo, digest, data);
        await this.index.recordManifest(
          toRecord(repo, digest.value, data.length, parsed),
          tags,
          storeStamp(),
        );
        return written;
      }
      const current = await this.loadIndex(repo);
      const doc = current ?? emptyIndex();
      if (tags.length === 0) keepUntagged(doc, descriptor);
      for (const tag of tags) setTag(doc, descriptor, tag);
      // The manifest and index.json are written and fsynced at once (one wait for the disk
      // instead of two, issue 14), but index.json appears only once the manifest it lists is in
      // place: a crash between the two never leaves the index naming a missing manifest.
      const manifestStored = this.blobs.storeVerified(repo, digest, data);
      const [stamp, written] = await Promise.all([
        this.saveIndex(repo, doc, current !== undefined, manifestStored),
        manifestStored,
      ]);
      // The manifest's blob row and its own rows in one group commit (issued in one turn).
      await Promise.all([
        this.index.addBlob(repo, digest.value, data.length),
        this.index.recordManifest(toRecord(repo, digest.value, data.length, parsed), tags, stamp),
      ]);
      return written;
    });
    this.events.emit('manifest-pushed', {
      repo,
      digest: digest.value,
      mediaType: parsed.mediaType,
      size: data.length,
      tags,
      fresh,
    });
    return { digest: digest.value, tags, ...(parsed.subject ? { subject: parsed.subject.digest } : {}) };
  }

  /**
   * Runs `fn` holding the repository's lock, the one every index.json change takes. Garbage
   * collection sweeps a repository inside it so that no push interleaves with a sweep.
   */
  withRepositoryLock<T>(repo: string, fn: () => Promise<T>): Promise<T> {
    return this.coordination.withLock(repositoryLockKey(repo), fn);
  }

  /**
   * The repository's index.json as stored; undefined when it has none. Garbage collection reads it
   * under the repository lock to decide what retention removes.
   */
  async readIndexDocument(repo: string): Promise<OciIndexDocument | undefined> {
    if (!this.indexInStore) return readIndex(this.driver, repo);
    // The content-addressed layout's equivalent, built from the metadata store's rows.
    if (!(await this.index.repositoryExists(repo))) return undefined;
    const doc = emptyIndex();
    const manifests = await this.index.manifests(repo);
    const byDigest = new Map(manifests.map((m) => [m.digest, m]));
    const tagged = new Set<string>();
    for (const t of await this.index.tags(repo)) {
      const m = byDigest.get(t.digest);
      if (!m) continue;
      tagged.add(m.digest);
      doc.manifests.push({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        annotations: { [TAG_ANNOTATION]: t.tag },
      });
    }
    for (const m of manifests) {
      if (!tagged.has(m.digest))
        doc.manifests.push({ mediaType: m.mediaType, digest: m.digest, size: m.size });
    }
    return doc;
  }

  /**
   * Replaces index.json by `doc` (garbage collection and retention removed entries from it) and
   * drops the removed tags and manifests from the metadata index. The caller holds the repository
   * lock (`withRepositoryLock`).
   */
  async replaceIndexDocument(
    repo: string,
    doc: OciIndexDocument,
    removedTags: string[],
    removedDigests: string[],
  ): Promise<void> {
    const stamp = this.indexInStore ? storeStamp() : await writeIndex(this.driver, repo, doc);
    for (const tag of removedTags) await this.index.removeTag(repo, tag, stamp);
    for (const digest of removedDigests) {
      await this.index.removeManifest(repo, digest, stamp);
      this.bytes.delete(`${repo}@${digest}`);
    }
  }

  /**
   * Removes a repository's layout files (index.json, oci-layout) and its metadata, once garbage
   * collection found it holding nothing. Its folders stay: an upload may be creating files in them.
   * The caller holds the repository lock.
   */
  async removeEmptyRepository(repo: string): Promise<void> {
    if (this.indexInStore) {
      // An upload may have added a membership row since the caller looked (uploads take the blob's
      // lock, not the repository's): a repository still holding a blob keeps its rows.
      if ((await this.index.repositoryBlobs(repo)).length === 0) await this.index.deleteRepository(repo);
      return;
    }
    await this.driver.delete(layout.index(repo));
    await this.driver.delete(layout.ociLayout(repo));
    await this.index.deleteRepository(repo);
  }

  /** Deletes a tag (the manifest stays, untagged) or a manifest by digest (with every tag on it). */
  async delete(repo: string, ref: Reference): Promise<void> {
    const found = await this.require(repo, ref);
    await this.withRepositoryLock(repo, async () => {
      if (this.indexInStore) {
        await this.deleteInStore(repo, ref, found.digest);
        return;
      }
      const current = await this.loadIndex(repo);
      const doc = current ?? emptyIndex();
      if (ref.kind === 'tag') {
        removeTag(doc, ref.tag);
        const stamp = await this.saveIndex(repo, doc, current !== undefined);
        await this.index.removeTag(repo, ref.tag, stamp);
        return;
      }
      await this.refuseReferenced(repo, found.digest);
      removeDigest(doc, found.digest);
      const stamp = await this.saveIndex(repo, doc, current !== undefined);
      await this.index.removeManifest(repo, found.digest, stamp);
      this.bytes.delete(`${repo}@${found.digest}`);
      await this.blobs.remove(repo, parseDigest(found.digest));
    });
    this.events.emit('manifest-deleted', {
      repo,
      digest: found.digest,
      ...(ref.kind === 'tag' ? { tag: ref.tag } : {}),
    });
  }

  /** `delete` in the content-addressed layout: rows only; the objects wait for garbage collection. */
  private async deleteInStore(repo: string, ref: Reference, digest: string): Promise<void> {
    if (ref.kind === 'tag') {
      await this.index.removeTag(repo, ref.tag, storeStamp());
      return;
    }
    await this.refuseReferenced(repo, digest);
    await this.index.removeManifest(repo, digest, storeStamp());
    this.bytes.delete(`${repo}@${digest}`);
    await this.blobs.remove(repo, parseDigest(digest));
  }

  private async refuseReferenced(repo: string, digest: string): Promise<void> {
    for (const p of await this.index.referencedBy(repo, digest)) {
      if (await this.index.manifest(repo, p)) {
        throw new RegistryError('REFERENCED', `manifest ${digest} is referenced by index ${p}`);
      }
    }
  }

  async referrers(repo: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    return (await this.index.referrers(repo, subject.value))
      .filter((m) => artifactType === undefined || m.artifactType === artifactType)
      .map((m) => ({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        ...(m.artifactType ? { artifactType: m.artifactType } : {}),
        ...(m.annotations ? { annotations: m.annotations } : {}),
      }));
  }

  /**
   * The repository's index.json for a change (the caller holds the repository lock): from memory
   * when the file still has the stamp it had when this process last wrote or read it. The caller
   * owns the document (it leaves the cache until `saveIndex` puts it back).
   */
  private async loadIndex(repo: string): Promise<OciIndexDocument | undefined> {
    let stamp: string;
    try {
      const info = await this.driver.stat(layout.index(repo));
      stamp = stampOf(info.size, info.modTime);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.indexes.delete(repo);
      return undefined;
    }
    const cached = this.indexes.get(repo);
    this.indexes.delete(repo);
    if (cached?.stamp === stamp) return cached.doc;
    return readIndex(this.driver, repo);
  }

  /** Writes a changed index.json and keeps the document for the next change. */
  private async saveIndex(
    repo: string,
    doc: OciIndexDocument,
    layoutExists: boolean,
    after?: Promise<unknown>,
  ): Promise<string> {
    const stamp = await writeIndex(this.driver, repo, doc, { layoutExists, ...(after ? { after } : {}) });
    this.indexes.set(repo, { stamp, doc });
    return stamp;
  }

  private async checkReferences(repo: string, parsed: ParsedManifest): Promise<void> {
    // Asked a few at a time: on PostgreSQL each answer is a round trip, and an image has a dozen blobs.
    const references = [
      ...parsed.blobs.map((blob) => ({ digest: blob.digest, kind: 'blob' as const })),
      ...parsed.manifests.map((child) => ({ digest: child.digest, kind: 'manifest' as const })),
    ];
    const found = new Set<string>();
    await forEachLimited(references, async ({ digest, kind }) => {
      const parsedDigest = tryParseDigest(digest);
      const present =
        kind === 'blob'
          ? parsedDigest !== undefined && (await this.blobs.stat(repo, parsedDigest)) !== undefined
          : (await this.index.manifest(repo, digest)) !== undefined;
      if (present) found.add(`${kind} ${digest}`);
    });
    const missing = references.filter((r) => !found.has(`${r.kind} ${r.digest}`)).map((r) => r.digest);
    if (missing.length > 0) {
      throw new RegistryError(
        'MANIFEST_BLOB_UNKNOWN',
        `manifest references ${missing.length} unknown blob(s) or manifest(s): ${missing.slice(0, 5).join(', ')}`,
        {
          detail: { digests: missing.slice(0, 100) },
        },
      );
    }
  }
}

/**
 * The content-addressed layout's repository stamp: no file to fingerprint, so every change gets a
 * fresh value, which is what readers of stamps (the UI's summaries) compare.
 */
function storeStamp(): string {
  return `store:${Date.now()}:${randomUUID().slice(0, 8)}`;
}

/** The metadata row for a manifest: referrers need its artifactType and annotations. */
export function toRecord(
  repo: string,
  digest: string,
  size: number,
  parsed: ParsedManifest,
  pushedAt = Date.now(),
): ManifestRecord {
  const referrer = referrerDescriptor(parsed, digest, size);
  return {
    repo,
    digest,
    mediaType: parsed.mediaType,
    size,
    artifactType: referrer.artifactType ?? null,
    subject: parsed.subject?.digest ?? null,
    annotations: parsed.annotations ?? null,
    pushedAt,
    references: [...parsed.blobs, ...parsed.manifests].map((d) => d.digest),
  };
}
