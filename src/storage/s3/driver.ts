/**
 * The S3 storage driver (AWS S3, Ceph RGW, MinIO, R2, Swift s3api) over `@aws-sdk/client-s3`.
 *
 * Keys in the bucket:
 * ```
 * <rootdirectory>/                  (no prefix when rootdirectory is empty or "/")
 *   <path>                          every file, at its driver path
 *   _s3parts/<uploadId>/upload      marker of a resumable upload (startParts); holds the target path
 *   _s3parts/<uploadId>/<n>.<token> one stored write of part n (writePart), a whole object
 * ```
 * `_s3parts` cannot collide with a repository (a repository name starts with a letter or digit),
 * and root listings leave it out.
 *
 * How the interface's promises are kept on an object store:
 * - Folders are only key prefixes: `stat` of a folder is a one-key listing, `delete` of a folder
 *   lists it and deletes in batches of 1,000 (DeleteObjects, with Content-MD5 for Swift).
 * - `listPage` is ListObjectsV2 with delimiter `/`. Names come in S3's key order, in which a
 *   folder sorts as its name followed by `/` (so folder `a` comes after file or folder `a-b`);
 *   this equals plain byte order unless a name extends another with a character below `/`.
 * - `putContent` and `writer` make an object visible whole at once (PutObject, or
 *   CompleteMultipartUpload); `ifAbsent` is `If-None-Match: *`.
 * - Resumable uploads (`startParts` … `completeParts`): S3 parts must be at least 5 MiB except the
 *   last, and an in-progress part cannot be read back; the interface's parts may have any size.
 *   So each written part is a whole object of its own under `_s3parts/` (its token makes a
 *   rewrite of the same number a different object, so concurrent writes never mix), and
 *   `completeParts` assembles them: one part is copied server-side (CopyObject), several become a
 *   multipart upload (planned by `assembly.ts`, sent by `server-copy.ts`) whose parts are server-side copies (UploadPartCopy)
 *   of the large ones and streamed re-uploads of runs of small ones merged to ≥ 5 MiB. Small parts
 *   cross the registry twice; large ones never come back. On RGW, CopyObject shares the data
 *   (cheap) while UploadPartCopy copies it: a one-part upload completes fast, a many-part one costs
 *   about another upload (bench/s3-driver.ts).
 * - `presignedUrl` signs a GET (or HEAD) for redirecting downloads to the store.
 * - `copyTo` (blob pulls) reads a plain-http endpoint over a socket with reused buffers
 *   (direct-get.ts), falling back to `reader` for anything but a plain body.
 * - `move` and `link` are server-side copies (UploadPartCopy in 5 GiB ranges above 5 GiB); `move`
 *   then deletes the source: not atomic across the two keys, but the destination appears whole.
 *
 * Measured on Ceph RGW 16.2 (test `ceph-facts.test.ts`, which fails if they stop holding): the key
 * of an in-progress multipart upload answers 404; a non-last part under 5 MiB fails at completion
 * with EntityTooSmall; `If-None-Match: *` on PutObject is honoured (412) but ignored on
 * CompleteMultipartUpload (so a large `ifAbsent` writer looks with HEAD just before completing);
 * `If-Match` compares against the bare ETag, so the standard quoted form is always refused (412)
 * even when it matches: no compare-and-swap on ETags; Last-Modified is whole seconds on HEAD and
 * GET (an HTTP date), milliseconds in listings (modTime is informational only anyway).
 */
import { randomUUID } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  listAllPages,
  type CopyOptions,
  type FileInfo,
  type FileWriter,
  type ListOptions,
  type ListPage,
  type PartInfo,
  type PutOptions,
  type ReadOptions,
  type StorageDriver,
  type WriteOptions,
} from '../driver.js';
import {
  AlreadyExistsError,
  InvalidPartError,
  InvalidPathError,
  PathNotFoundError,
  StorageFullError,
} from '../errors.js';
import {
  CONNECT_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  isConditionalConflict,
  isMissingKey,
  isPreconditionFailed,
  isQuotaExceeded,
} from './client.js';
import { assembleObject, copyObject, type CopyTarget } from './server-copy.js';
import { presignForClient } from './presign.js';
import { abortStaleUploads } from './stale-uploads.js';
import { directGet } from './direct-get.js';
import { MAX_PARTS, MIN_PART_SIZE, S3FileWriter } from './writer.js';

/** Keys per DeleteObjects request (the API's limit). */
const DELETE_BATCH = 1000;
const PARTS_FOLDER = '_s3parts';
const MARKER = 'upload';

export interface S3DriverOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix every path lives under (zot's `rootdirectory`); '' or '/' for the bucket root. */
  rootDirectory?: string;
  /** Multipart part size for writers and re-assembled parts; default 10 MiB, at least 5 MiB. */
  partSize?: number;
}

export class S3Driver implements StorageDriver {
  readonly name = 's3';
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  /** Server-side copies and assemblies (server-copy.ts). */
  private readonly copies: CopyTarget;

  constructor(options: S3DriverOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    const root = (options.rootDirectory ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = root === '' ? '' : `${root}/`;
    this.partSize = Math.max(options.partSize ?? 10 * 1024 * 1024, MIN_PART_SIZE);
    this.copies = { client: this.client, bucket: this.bucket, partSize: this.partSize };
  }

  /** The object key of a driver path, refusing paths that could escape the root. */
  key(p: string): string {
    if (p === '') return this.prefix.replace(/\/$/, '');
    if (p.startsWith('/') || p.endsWith('/') || p.includes('\\') || p.includes('\0'))
      throw new InvalidPathError(p);
    for (const part of p.split('/')) {
      if (part === '' || part === '.' || part === '..') throw new InvalidPathError(p);
    }
    return this.prefix + p;
  }

  /** The key prefix of a folder's children. */
  private folderPrefix(p: string): string {
    return p === '' ? this.prefix : `${this.key(p)}/`;
  }

  async getContent(p: string): Promise<Buffer> {
    const key = this.key(p);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      throw this.readError(p, err);
    }
  }

  async putContent(p: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    const key = this.key(p);
    // An object is visible from its PUT on: nothing to overlap with the caller's other write.
    await options.after;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: data,
            ContentLength: data.length,
            ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
          }),
        );
        return;
      } catch (err) {
        if (options.ifAbsent && isConditionalConflict(err) && attempt < 3) continue;
        throw this.writeError(p, err);
      }
    }
  }

  async reader(p: string, options: ReadOptions = {}): Promise<Readable> {
    const key = this.key(p);
    const start = options.offset ?? 0;
    if (options.length === 0) {
      await this.stat(p);
      return Readable.from([]);
    }
    const range =
      options.length !== undefined
        ? `bytes=${start}-${start + options.length - 1}`
        : start > 0
          ? `bytes=${start}-`
          : undefined;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: range } : {}) }),
      );
      return out.Body as Readable;
    } catch (err) {
      // A range starting at (or past) the end: the file exists and the range is empty.
      if ((err as { name?: string }).name === 'InvalidRange') return Readable.from([]);
      throw this.readError(p, err);
    }
  }

  /**
   * Serving fast path (blob pulls): on a plain-http endpoint the bytes come over a socket that
   * reads into reused buffers (direct-get.ts says why); otherwise, and whenever the store's
   * answer is not a plain body (a missing key, a range past the end), through `reader`. Like the
   * filesystem driver's, it may refill a chunk's memory once the destination called its write back.
   */
  async copyTo(p: string, destination: Writable, options: CopyOptions = {}): Promise<void> {
    const { offset = 0, length, onOpen } = options;
    if (length !== 0) {
      const url = new URL(await this.presignedUrl(p));
      if (url.protocol === 'http:') {
        const done = await directGet({
          url,
          range: offset > 0 || length !== undefined ? { offset, length } : undefined,
          destination,
          onOpen,
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
          idleTimeoutMs: IDLE_TIMEOUT_MS,
        });
        if (done) return;
      }
    }
    const source = await this.reader(p, options);
    onOpen?.();
    await pipeline(source, destination, { end: false });
  }

  async writer(p: string, options: WriteOptions = {}): Promise<FileWriter> {
    return this.objectWriter(p, this.key(p), options.ifAbsent ?? false);
  }

  /** A writer of the object `key`, its errors reported against the driver path `p`. */
  private objectWriter(p: string, key: string, ifAbsent: boolean): S3FileWriter {
    return new S3FileWriter({
      client: this.client,
      bucket: this.bucket,
      key,
      partSize: this.partSize,
      ifAbsent,
      mapError: (err) => this.writeError(p, err),
      alreadyExists: () => new AlreadyExistsError(p),
    });
  }

  // ---- resumable uploads: parts as objects under _s3parts/, assembled at completion ----

  private partsPrefix(uploadId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new PathNotFoundError(`${PARTS_FOLDER}/${uploadId}`);
    return `${this.prefix}${PARTS_FOLDER}/${uploadId}/`;
  }

  /** Throws PathNotFoundError unless the upload's marker exists. */
  private async checkUpload(p: string, uploadId: string): Promise<string> {
    const prefix = this.partsPrefix(uploadId);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: prefix + MARKER }));
    } catch (err) {
      throw this.readError(p, err);
    }
    return prefix;
  }

  async startParts(p: string): Promise<string> {
    this.key(p);
    const uploadId = randomUUID();
    const marker = this.partsPrefix(uploadId) + MARKER;
    const body = Buffer.from(p);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: marker, Body: body, ContentLength: body.length }),
      );
    } catch (err) {
      throw this.writeError(p, err);
    }
    return uploadId;
  }

  async writePart(p: string, uploadId: string, number: number, body: Readable): Promise<PartInfo> {
    if (!Number.isInteger(number) || number < 1 || number > MAX_PARTS) {
      throw new RangeError(`part number must be 1..${MAX_PARTS}, got ${number}`);
    }
    const prefix = await this.checkUpload(p, uploadId);
    const token = randomUUID().replace(/-/g, '');
    const partPath = `${prefix}${number}.${token}`;
    const writer = this.objectWriter(p, partPath, false);
    try {
      await pipeline(body, writer.stream);
      await writer.commit();
    } catch (err) {
      await writer.cancel();
      throw err;
    }
    // An abort that ran while this part was being written would leave it behind: look again.
    try {
      await this.checkUpload(p, uploadId);
    } catch (err) {
      await this.deleteKeys([partPath]);
      throw err;
    }
    return { number, size: writer.size(), etag: token };
  }

  async completeParts(p: string, uploadId: string, parts: PartInfo[]): Promise<void> {
    const key = this.key(p);
    const prefix = await this.checkUpload(p, uploadId);
    // The stored parts, from a listing (1,000 a request) rather than a HEAD per part.
    const stored = new Map<string, number>();
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken }),
      );
      for (const object of page.Contents ?? []) stored.set(object.Key ?? '', object.Size ?? -1);
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
    const sources: { key: string; size: number }[] = [];
    let previous = 0;
    for (const part of parts) {
      const partKey = `${prefix}${part.number}.${part.etag}`;
      if (part.number <= previous || !/^[0-9a-f]{32}$/.test(part.etag) || stored.get(partKey) !== part.size) {
        throw new InvalidPartError(p, part.number);
      }
      previous = part.number;
      sources.push({ key: partKey, size: part.size });
    }
    try {
      if (sources.length === 0) {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0 }),
        );
      } else if (sources.length === 1) {
        await copyObject(this.copies, sources[0]!.key, sources[0]!.size, key);
      } else {
        await assembleObject(this.copies, sources, key);
      }
    } catch (err) {
      throw this.writeError(p, err);
    }
    await this.deletePrefix(prefix);
  }

  async abortParts(p: string, uploadId: string): Promise<void> {
    this.key(p);
    await this.deletePrefix(this.partsPrefix(uploadId));
  }

  /**
   * Aborts the bucket's multipart uploads under this driver's root started before `cutoff`
   * (stale-uploads.ts). For garbage collection; returns how many were aborted.
   */
  abortStaleMultipartUploads(cutoff: Date): Promise<number> {
    return abortStaleUploads(this.client, this.bucket, this.prefix, cutoff);
  }

  /**
   * A URL that lets its bearer `method` the file at `p` directly from the store for `expiresIn`
   * seconds (default 15 minutes), for redirecting blob downloads. Does not check that the file exists.
   */
  async presignedUrl(
    p: string,
    options: { method?: 'GET' | 'HEAD'; expiresIn?: number } = {},
  ): Promise<string> {
    return presignForClient(this.client, this.bucket, this.key(p), options);
  }

  // ---- metadata, listing, copies, deletes ----

  async stat(p: string): Promise<FileInfo> {
    const key = this.key(p);
    if (p !== '') {
      try {
        const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        return {
          path: p,
          size: head.ContentLength ?? 0,
          modTime: head.LastModified ?? new Date(0),
          isDirectory: false,
        };
      } catch (err) {
        if (!isMissingKey(err)) throw err;
      }
    }
    const children = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.folderPrefix(p), MaxKeys: 1 }),
    );
    if ((children.KeyCount ?? 0) === 0 && p !== '') throw new PathNotFoundError(p);
    return { path: p, size: 0, modTime: new Date(0), isDirectory: true };
  }

  async listPage(p: string, options: ListOptions = {}): Promise<ListPage> {
    const prefix = this.folderPrefix(p);
    const out = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        Delimiter: '/',
        ...(options.after !== undefined ? { StartAfter: prefix + options.after } : {}),
        ...(options.limit !== undefined ? { MaxKeys: options.limit } : {}),
      }),
    );
    // Files and folders arrive in two lists; merged back into key order (a folder as `name/`).
    const entries = [
      ...(out.Contents ?? []).map((o) => o.Key ?? ''),
      ...(out.CommonPrefixes ?? []).map((c) => c.Prefix ?? ''),
    ]
      .filter((k) => k.length > prefix.length)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const names: string[] = [];
    for (const entry of entries) {
      const name = entry.slice(prefix.length).replace(/\/$/, '');
      // After `a` the listing may bring folder `a/` (it sorts after `a`), and a file and a folder
      // may share a name: each name once, never `after` itself.
      if (name === options.after || names[names.length - 1] === name) continue;
      // Resumable uploads' parts are the driver's own business, not a folder of the root.
      if (p === '' && name === PARTS_FOLDER) continue;
      names.push(name);
    }
    const last = entries[entries.length - 1];
    if (!out.IsTruncated || last === undefined) return { names };
    return { names, next: last.slice(prefix.length).replace(/\/$/, '') };
  }

  list(p: string): Promise<string[]> {
    return listAllPages(this, p);
  }

  async move(source: string, destination: string): Promise<void> {
    const from = this.key(source);
    const to = this.key(destination);
    const { size } = await this.stat(source).then((info) => {
      if (info.isDirectory) throw new PathNotFoundError(source);
      return info;
    });
    try {
      await copyObject(this.copies, from, size, to);
    } catch (err) {
      throw this.writeError(destination, err);
    }
    await this.deleteKeys([from]);
  }

  async delete(p: string): Promise<void> {
    if (p !== '') await this.deleteKeys([this.key(p)]);
    await this.deletePrefix(this.folderPrefix(p));
  }

  async link(source: string, destination: string): Promise<boolean> {
    const from = this.key(source);
    const to = this.key(destination);
    const info = await this.stat(source);
    if (info.isDirectory) throw new PathNotFoundError(source);
    try {
      await copyObject(this.copies, from, info.size, to);
    } catch (err) {
      if (isMissingKey(err)) throw new PathNotFoundError(source, { cause: err });
      throw this.writeError(destination, err);
    }
    return true;
  }

  /** Deletes every key under `prefix`, a page (≤ 1,000 keys) at a time. */
  private async deletePrefix(prefix: string): Promise<void> {
    let ContinuationToken: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken }),
      );
      await this.deleteKeys((page.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k !== ''));
      if (!page.IsTruncated) return;
      ContinuationToken = page.NextContinuationToken;
    }
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    if (keys.length === 1) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: keys[0] }));
      return;
    }
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new Error(`deleting ${failed.length} keys failed, first ${failed[0]?.Key}: ${failed[0]?.Code}`);
      }
    }
  }

  private readError(p: string, err: unknown): unknown {
    return isMissingKey(err) ? new PathNotFoundError(p, { cause: err }) : err;
  }

  private writeError(p: string, err: unknown): unknown {
    if (isPreconditionFailed(err)) return new AlreadyExistsError(p);
    if (isQuotaExceeded(err)) return new StorageFullError(p, { cause: err });
    return err;
  }
}
