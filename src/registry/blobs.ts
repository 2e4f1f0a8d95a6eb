/**
 * Blobs of a repository: existence, streaming reads, deletion, and placing finished uploads.
 * Blobs are content-addressed files in the repository's layout; with dedupe on, a blob that some
 * repository already holds is hard-linked instead of stored again.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/errors.js';
import type { RegistryIndex } from '../meta/registry-index.js';
import type { RegistryEvents } from './events.js';
import { layout } from './layout.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface BlobStoreOptions {
  dedupe: boolean;
}

export class BlobStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly index: RegistryIndex,
    private readonly options: BlobStoreOptions,
    private readonly events: RegistryEvents,
  ) {}

  /**
   * Whether the repository holds the blob, and its size, asked of storage every time. There is no
   * cache in front of it: another process may delete a blob at any moment, and an answer from
   * memory made a second process report (and accept manifests referencing) a blob that was gone.
   * On the filesystem the stat is a few microseconds.
   */
  async stat(repo: string, digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const info = await this.driver.stat(layout.blob(repo, digest));
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
    const path = layout.blob(repo, digest);
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

  async read(repo: string, digest: Digest): Promise<Buffer> {
    try {
      return await this.driver.getContent(layout.blob(repo, digest));
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} unknown to ${repo}`);
      throw err;
    }
  }

  /** Stores small content (a manifest) whose digest the caller has verified. */
  async writeVerified(repo: string, digest: Digest, data: Buffer): Promise<void> {
    if (await this.stat(repo, digest)) return;
    await this.driver.putContent(layout.blob(repo, digest), data);
    await this.index.addBlob(repo, digest.value, data.length);
  }

  /**
   * Records a blob that an upload wrote straight to its place (verified, durable, visible). With
   * dedupe on, a copy another repository already holds replaces it by a link, sharing the bytes.
   */
  async recordStored(repo: string, digest: Digest, size: number): Promise<void> {
    if (this.options.dedupe) await this.linkFromHolder(repo, digest);
    await this.index.addBlob(repo, digest.value, size);
    this.events.emit('blob-stored', { repo, digest: digest.value, size });
  }

  /**
   * Moves a verified upload file into place. Another upload of the same blob may have finished
   * first; both hold identical bytes, so whichever rename lands last is equally correct.
   */
  async place(repo: string, digest: Digest, uploadPath: string, size: number): Promise<void> {
    const target = layout.blob(repo, digest);
    if (await this.stat(repo, digest)) {
      await this.driver.delete(uploadPath);
      // Still an upload that finished: observers (garbage collection) must see the blob as fresh.
      this.events.emit('blob-stored', { repo, digest: digest.value, size });
      return;
    }
    if (!(this.options.dedupe && (await this.linkFromHolder(repo, digest)))) {
      await this.driver.move(uploadPath, target);
    } else {
      await this.driver.delete(uploadPath);
    }
    await this.index.addBlob(repo, digest.value, size);
    this.events.emit('blob-stored', { repo, digest: digest.value, size });
  }

  /** Cross-repository mount. Returns false when `from` does not hold the blob. */
  async mount(from: string, to: string, digest: Digest): Promise<BlobInfo | undefined> {
    const source = await this.stat(from, digest);
    if (!source) return undefined;
    const existing = await this.stat(to, digest);
    if (existing) {
      this.events.emit('blob-stored', { repo: to, digest: digest.value, size: existing.size });
      return existing;
    }
    const linked = await this.driver
      .link(layout.blob(from, digest), layout.blob(to, digest))
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    if (linked === undefined) return undefined;
    if (!linked) await this.copy(from, to, digest);
    await this.index.addBlob(to, digest.value, source.size);
    this.events.emit('blob-stored', { repo: to, digest: digest.value, size: source.size });
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

  /** Removes the blob file without checks (manifest deletion, GC). */
  async remove(repo: string, digest: Digest): Promise<void> {
    await this.driver.delete(layout.blob(repo, digest));
    await this.index.removeBlob(repo, digest.value);
  }

  private async linkFromHolder(repo: string, digest: Digest): Promise<boolean> {
    for (const holder of await this.index.blobHolders(digest.value)) {
      if (holder === repo) continue;
      try {
        if (await this.driver.link(layout.blob(holder, digest), layout.blob(repo, digest))) return true;
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
    const writer = await this.driver.writer(layout.blob(to, digest));
    try {
      await pipeline(await this.driver.reader(layout.blob(from, digest)), writer.stream);
      await writer.commit();
    } catch (err) {
      await writer.cancel();
      throw err;
    }
  }
}
