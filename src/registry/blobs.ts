/**
 * Blobs of a repository: existence, streaming reads, deletion, and placing finished uploads.
 *
 * Per-repository layout (filesystem): blobs are content-addressed files in the repository's OCI
 * layout; with dedupe on, a blob that some repository already holds is hard-linked instead of
 * stored again. A blob is held when its file exists.
 *
 * Content-addressed layout (object stores): one object per digest for the whole store, and a
 * repository holds a blob when the metadata store has its membership row and the object exists.
 * Removing a blob from a repository removes the row; the object goes with garbage collection once
 * no repository holds it (`sweepUnheld`). Why membership changes take the blob's lock: the sweep
 * deletes an object under that lock after seeing no holder, so a row added under it either comes
 * first (the sweep sees a holder) or finds the object gone and fails the request (the client
 * retries) instead of acknowledging a blob that no longer exists.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { FileInfo, StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/errors.js';
import type { RegistryIndex } from '../meta/registry-index.js';
import type { Coordination } from '../coordination/coordination.js';
import type { RecentBlobTimes } from '../meta/pull-times.js';
import { SUPPORTED_ALGORITHMS, tryParseDigest } from '../oci/digest.js';
import type { RegistryEvents } from './events.js';
import { BLOBS_DIR } from './layout.js';
import { blobLockKey, type StoreLayout } from './store-layout.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

/** A stored blob file as garbage collection and scrub see it. */
export interface BlobFile {
  digest: Digest;
  size: number;
  /** When the file was last written (informational; GC's grace period also asks `recentBlobs`). */
  modTime: Date;
}

export interface BlobStoreOptions {
  dedupe: boolean;
  layout: StoreLayout;
  /** Blob locks of the content-addressed layout (across processes). */
  coordination: Coordination;
  /** Whether `redirectUrl` hands out the driver's presigned URLs (`storage.redirectBlobURL`). */
  redirect?: boolean;
  /**
   * Content-addressed layout: when each repository last stored a blob, written before its
   * membership row so that garbage collection (maybe on another replica) never takes a row that
   * was just added for an old object (a mount, a re-push of a layer the store already has).
   */
  recentBlobs?: RecentBlobTimes | undefined;
}

export class BlobStore {
  private readonly layout: StoreLayout;
  private readonly shared: boolean;

  constructor(
    private readonly driver: StorageDriver,
    private readonly index: RegistryIndex,
    private readonly options: BlobStoreOptions,
    private readonly events: RegistryEvents,
  ) {
    this.layout = options.layout;
    this.shared = options.layout.kind === 'content-addressed';
  }

  /** Where the repository's blob lives in storage (the upload service writes monolithic blobs there). */
  path(repo: string, digest: Digest): string {
    return this.layout.blob(repo, digest);
  }

  /**
   * Whether the repository holds the blob, and its size, asked of storage every time. There is no
   * cache in front of it: another process may delete a blob at any moment, and an answer from
   * memory made a second process report (and accept manifests referencing) a blob that was gone.
   * On the filesystem the stat is a few microseconds.
   */
  async stat(repo: string, digest: Digest): Promise<BlobInfo | undefined> {
    if (this.shared) {
      // The row is enough: a row is added only while its object exists and an object is deleted
      // only while no row names it, both under the blob's lock (see the header), so no HEAD of
      // the object is needed. A read of a vanished object still answers BLOB_UNKNOWN.
      const size = await this.index.blobSize(repo, digest.value);
      return size === undefined ? undefined : { digest: digest.value, size };
    }
    try {
      const info = await this.driver.stat(this.layout.blob(repo, digest));
      if (info.isDirectory) return undefined;
      return { digest: digest.value, size: info.size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async require(repo: string, digest: Digest): Promise<BlobInfo> {
    const info = await this.stat(repo, digest);
    if (!info)
      throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} unknown to ${repo}`, {
        detail: { digest: digest.value },
      });
    return info;
  }

  /** Writes a blob (or a range of it) into `destination`, through the driver's fast path when it has one. */
  async send(
    repo: string,
    digest: Digest,
    destination: Writable,
    options: { range?: { offset: number; length: number }; onOpen: () => void },
  ): Promise<void> {
    const path = this.layout.blob(repo, digest);
    const { range, onOpen } = options;
    try {
      if (this.driver.copyTo) {
        await this.driver.copyTo(path, destination, { ...range, onOpen });
      } else {
        const source = await this.driver.reader(path, range);
        onOpen();
        await pipeline(source, destination, { end: false });
      }
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} unknown to ${repo}`);
      throw err;
    }
  }

  /** A stream of the whole blob (scrub re-hashes through it); BLOB_UNKNOWN when it is gone. */
  async open(repo: string, digest: Digest): Promise<Readable> {
    try {
      return await this.driver.reader(this.layout.blob(repo, digest));
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} unknown to ${repo}`);
      throw err;
    }
  }

  async read(repo: string, digest: Digest): Promise<Buffer> {
    try {
      return await this.driver.getContent(this.layout.blob(repo, digest));
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} unknown to ${repo}`);
      throw err;
    }
  }

  /**
   * A URL the client may fetch the blob from directly (`storage.redirectBlobURL`), or undefined
   * when the driver has none. The caller checked that the repository holds the blob.
   */
  async redirectUrl(repo: string, digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    if (!this.options.redirect) return undefined;
    return this.driver.presignedUrl?.(this.layout.blob(repo, digest), { method });
  }

  /**
   * Stores small content (a manifest) whose digest the caller has verified. Returns whether it
   * looks new to garbage collection by itself (`fresh` of the 'blob-stored' event).
   */
  async writeVerified(repo: string, digest: Digest, data: Buffer): Promise<boolean> {
    if (this.shared) {
      // Written again even when the object exists (the same bytes), and under the blob's lock,
      // which the sweep holds from its look at the holders to its delete: no sweep can delete the
      // object between this write and the membership row, so unlike `hold` (an upload's object
      // is written long before) there is no HEAD to make afterwards. One store round trip fewer
      // per manifest push; the lock is held for one small PutObject.
      await this.options.coordination.withLock(blobLockKey(digest.value), async () => {
        await this.driver.putContent(this.layout.blob(repo, digest), data);
        await this.options.recentBlobs?.record([{ repo, digest: digest.value, at: Date.now() }]);
        await this.index.addBlob(repo, digest.value, data.length);
      });
      return true;
    }
    const written = await this.storeVerified(repo, digest, data);
    if (written) await this.index.addBlob(repo, digest.value, data.length);
    return written;
  }

  /**
   * `writeVerified` without the membership row, for a caller that adds it in the same group commit
   * as its own rows (a manifest push: one commit fewer per push, issue 14). Per-repository layout
   * only. Returns whether the content was put there now, written or linked (false: it was there
   * already).
   */
  async storeVerified(repo: string, digest: Digest, data: Buffer): Promise<boolean> {
    if (this.shared) throw new Error('storeVerified is for the per-repository layout');
    if (await this.stat(repo, digest)) return false;
    await this.putVerified(repo, digest, data);
    return true;
  }

  /**
   * Content-addressed layout: records that `repo` holds the blob, under the blob's lock, after
   * checking that the object is (still) there — a sweep may have taken it since it was written.
   */
  private async hold(repo: string, digest: Digest, size: number): Promise<void> {
    await this.options.coordination.withLock(blobLockKey(digest.value), async () => {
      const info = await this.driver.stat(this.layout.blob(repo, digest)).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (!info || info.isDirectory) {
        throw new RegistryError(
          'BLOB_UPLOAD_INVALID',
          `blob ${digest.value} was collected while it was being stored; upload it again`,
        );
      }
      await this.options.recentBlobs?.record([{ repo, digest: digest.value, at: Date.now() }]);
      await this.index.addBlob(repo, digest.value, size);
    });
  }

  /**
   * Puts verified content held in memory (a small blob of one request) at its place in `repo`.
   * With dedupe on and a copy in another repository, that copy is linked instead: no file to
   * create and fsync (issue 14: a small push of layers the registry already holds). Dedupe is
   * settled either way: the caller records the blob with `recordStored(…, { deduplicated: true })`.
   */
  async putVerified(repo: string, digest: Digest, data: Uint8Array): Promise<void> {
    if (!this.shared && this.options.dedupe && (await this.linkFromHolder(repo, digest))) return;
    await this.driver.putContent(this.layout.blob(repo, digest), data);
  }

  /**
   * Records a blob that an upload put straight to its place (verified, durable, visible). With
   * dedupe on, a copy another repository already holds replaces it by a link, sharing the bytes,
   * unless the upload settled that already (`deduplicated`: linked, or found no copy to link).
   */
  async recordStored(
    repo: string,
    digest: Digest,
    size: number,
    options: { deduplicated?: boolean } = {},
  ): Promise<void> {
    if (this.shared) {
      await this.hold(repo, digest, size);
      this.events.emit('blob-stored', { repo, digest: digest.value, size, fresh: true });
      return;
    }
    // Written just now, or replaced by a link, which the driver dates now (as a copy would be).
    if (this.options.dedupe && options.deduplicated !== true) await this.linkFromHolder(repo, digest);
    await this.index.addBlob(repo, digest.value, size);
    this.events.emit('blob-stored', { repo, digest: digest.value, size, fresh: true });
  }

  /**
   * Moves a verified upload file into place. Another upload of the same blob may have finished
   * first; both hold identical bytes, so whichever rename lands last is equally correct.
   */
  async place(repo: string, digest: Digest, uploadPath: string, size: number): Promise<void> {
    const target = this.layout.blob(repo, digest);
    if (this.shared) {
      // Moved even over an existing object (identical bytes): the fresh write time protects it
      // from a sweep until the membership row is there.
      await this.driver.move(uploadPath, target);
      await this.recordStored(repo, digest, size);
      return;
    }
    if (await this.stat(repo, digest)) {
      await this.driver.delete(uploadPath);
      // Still an upload that finished: observers (garbage collection) must see the blob as new,
      // though its file is as old as its first upload.
      this.events.emit('blob-stored', { repo, digest: digest.value, size, fresh: false });
      return;
    }
    if (!(this.options.dedupe && (await this.linkFromHolder(repo, digest)))) {
      await this.driver.move(uploadPath, target);
    } else {
      await this.driver.delete(uploadPath);
    }
    await this.index.addBlob(repo, digest.value, size);
    // Moved, the upload file keeps the time of its last write, which may be long before.
    this.events.emit('blob-stored', { repo, digest: digest.value, size, fresh: false });
  }

  /** Cross-repository mount. Returns false when `from` does not hold the blob. */
  async mount(from: string, to: string, digest: Digest): Promise<BlobInfo | undefined> {
    const source = await this.stat(from, digest);
    if (!source) return undefined;
    const existing = await this.stat(to, digest);
    if (existing) {
      this.events.emit('blob-stored', { repo: to, digest: digest.value, size: existing.size, fresh: false });
      return existing;
    }
    if (this.shared) {
      // A mount is a row: the object is the store's, shared by every repository holding it.
      try {
        await this.hold(to, digest, source.size);
      } catch (err) {
        if (err instanceof RegistryError) return undefined;
        throw err;
      }
      this.events.emit('blob-stored', { repo: to, digest: digest.value, size: source.size, fresh: true });
      return source;
    }
    const linked = await this.driver
      .link(this.layout.blob(from, digest), this.layout.blob(to, digest))
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    if (linked === undefined) return undefined;
    if (!linked) await this.copy(from, to, digest);
    await this.index.addBlob(to, digest.value, source.size);
    // Linked (dated now by the driver) or copied: young by its file.
    this.events.emit('blob-stored', { repo: to, digest: digest.value, size: source.size, fresh: true });
    return source;
  }

  /**
   * Deletes a blob from a repository. A blob that a manifest of the repository still references
   * is refused (as zot does): deleting it would break that image.
   */
  async delete(repo: string, digest: Digest): Promise<void> {
    await this.require(repo, digest);
    const users = await this.index.referencedBy(repo, digest.value);
    if (users.length > 0) {
      throw new RegistryError('REFERENCED', `blob ${digest.value} is referenced by manifest ${users[0]}`);
    }
    await this.remove(repo, digest);
    this.events.emit('blob-deleted', { repo, digest: digest.value });
  }

  /**
   * Removes the blob from the repository without checks (manifest deletion, GC): its file, or in
   * the content-addressed layout its membership row (the object waits for `sweepUnheld`).
   */
  async remove(repo: string, digest: Digest): Promise<void> {
    if (!this.shared) await this.driver.delete(this.layout.blob(repo, digest));
    await this.index.removeBlob(repo, digest.value);
  }

  /** Whether blobs are shared objects with membership rows (the content-addressed layout). */
  get contentAddressed(): boolean {
    return this.shared;
  }

  /**
   * The blob files a repository holds, for garbage collection and scrub: its `blobs/` folder, or
   * in the content-addressed layout its membership rows (each object stat'ed; a row whose object
   * is missing is left out). Stray files (not a digest) are handed to `onStray`.
   */
  async files(repo: string, onStray?: (path: string, info: FileInfo) => Promise<void>): Promise<BlobFile[]> {
    const found: BlobFile[] = [];
    const statOf = async (path: string): Promise<FileInfo | undefined> =>
      this.driver.stat(path).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    if (this.shared) {
      await forEachLimited(await this.index.repositoryBlobs(repo), async (row) => {
        const digest = tryParseDigest(row.digest);
        if (!digest) return;
        const info = await statOf(this.layout.blob(repo, digest));
        if (info && !info.isDirectory) found.push({ digest, size: info.size, modTime: info.modTime });
      });
      return found;
    }
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      const dir = `${repo}/${BLOBS_DIR}/${algorithm}`;
      await forEachLimited(await this.driver.list(dir), async (name) => {
        const info = await statOf(`${dir}/${name}`);
        if (!info || info.isDirectory) return;
        const digest = tryParseDigest(`${algorithm}:${name}`);
        if (digest) found.push({ digest, size: info.size, modTime: info.modTime });
        else await onStray?.(`${dir}/${name}`, info);
      });
    }
    return found;
  }

  /** One blob file of the repository, or undefined when it holds none (see `files`). */
  async file(repo: string, digest: Digest): Promise<BlobFile | undefined> {
    if (this.shared && (await this.index.blobSize(repo, digest.value)) === undefined) return undefined;
    try {
      const info = await this.driver.stat(this.layout.blob(repo, digest));
      return info.isDirectory ? undefined : { digest, size: info.size, modTime: info.modTime };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Deletes a stray file `files` reported (a temporary file left by a crash). */
  async removeStray(path: string): Promise<void> {
    await this.driver.delete(path);
  }

  /**
   * Content-addressed layout, garbage collection: deletes every stored object that no repository
   * holds and that was written before `cutoff`, each under its blob lock with the holders asked
   * again there (see the header). Walks the store's `blobs/` page by page. With `dryRun` nothing is
   * deleted. Returns what was (or would be) freed.
   */
  async sweepUnheld(
    cutoff: number,
    options: { dryRun?: boolean; shouldStop?: () => boolean } = {},
  ): Promise<{ digest: string; size: number }[]> {
    if (!this.shared) return [];
    const freed: { digest: string; size: number }[] = [];
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      const dir = `${BLOBS_DIR}/${algorithm}`;
      let after: string | undefined;
      do {
        if (options.shouldStop?.()) return freed;
        const page = await this.driver.listPage(dir, after === undefined ? {} : { after });
        after = page.next;
        await forEachLimited(page.names, async (name) => {
          const digest = tryParseDigest(`${algorithm}:${name}`);
          if (!digest || (await this.index.blobHolder(digest.value)) !== undefined) return;
          await this.options.coordination.withLock(blobLockKey(digest.value), async () => {
            if ((await this.index.blobHolder(digest.value)) !== undefined) return;
            const info = await this.driver.stat(`${dir}/${name}`).catch(() => undefined);
            if (!info || info.isDirectory || info.modTime.getTime() > cutoff) return;
            if (!options.dryRun) await this.driver.delete(`${dir}/${name}`);
            freed.push({ digest: digest.value, size: info.size });
          });
        });
      } while (after !== undefined);
    }
    return freed;
  }

  private async linkFromHolder(repo: string, digest: Digest): Promise<boolean> {
    for (
      let holder = await this.index.blobHolder(digest.value, repo);
      holder !== undefined;
      holder = await this.index.blobHolder(digest.value, repo)
    ) {
      try {
        if (await this.driver.link(this.layout.blob(holder, digest), this.layout.blob(repo, digest)))
          return true;
        return false;
      } catch (err) {
        // The holder lost the blob since it was indexed: drop the stale row and try the next one.
        if (isNotFound(err)) {
          await this.index.removeBlob(holder, digest.value);
          continue;
        }
        throw err;
      }
    }
    return false;
  }

  private async copy(from: string, to: string, digest: Digest): Promise<void> {
    const writer = await this.driver.writer(this.layout.blob(to, digest));
    try {
      await pipeline(await this.driver.reader(this.layout.blob(from, digest)), writer.stream);
      await writer.commit();
    } catch (err) {
      await writer.cancel();
      throw err;
    }
  }
}

/** Storage operations a listing keeps in flight at once (stat, delete). */
const IO_CONCURRENCY = 16;

/** Runs `fn` over `items`, at most IO_CONCURRENCY at a time. */
export async function forEachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(IO_CONCURRENCY, items.length) }, lane));
}
