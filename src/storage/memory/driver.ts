/**
 * An in-memory storage driver: objects in a map keyed by path, folders only implied by the paths
 * under them — the shape of an object store, without the network. It proves that the registry
 * needs nothing a filesystem has and S3 has not, and gives fast contract and unit tests. Not for
 * production: everything is lost with the process.
 */
import { randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import {
  listAllPages,
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
import { AlreadyExistsError, InvalidPartError, InvalidPathError, PathNotFoundError } from '../errors.js';

interface StoredObject {
  data: Buffer;
  modTime: Date;
}

interface Upload {
  path: string;
  /** Every write of every part, by etag. */
  writes: Map<string, Buffer>;
}

const DEFAULT_PAGE = 1000;

function checkPath(p: string): string {
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0') || p.endsWith('/'))
    throw new InvalidPathError(p);
  for (const part of p.split('/')) {
    if (part === '.' || part === '..' || (part === '' && p !== '')) throw new InvalidPathError(p);
  }
  return p;
}

function prefixOf(p: string): string {
  return p === '' ? '' : `${p}/`;
}

/** Collects a stream into chunks and hands them over whole once it has ended. */
function collector(onDone: (data: Buffer) => void): { stream: Writable; size: () => number } {
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, callback) {
      chunks.push(Buffer.from(chunk));
      size += chunk.length;
      callback();
    },
    final(callback) {
      onDone(Buffer.concat(chunks, size));
      callback();
    },
  });
  return { stream, size: () => size };
}

export class MemoryDriver implements StorageDriver {
  readonly name = 'memory';
  private readonly objects = new Map<string, StoredObject>();
  private readonly uploads = new Map<string, Upload>();

  async getContent(p: string): Promise<Buffer> {
    return Buffer.from(this.object(p).data);
  }

  async putContent(p: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    // Handled from the start: a rejection before the await below must not count as unhandled.
    options.after?.catch(() => undefined);
    const path = checkPath(p);
    const copy = Buffer.from(data);
    await options.after;
    this.store(path, copy, options.ifAbsent === true);
  }

  async reader(p: string, options: ReadOptions = {}): Promise<Readable> {
    const { data } = this.object(p);
    const start = Math.min(options.offset ?? 0, data.length);
    const end = options.length === undefined ? data.length : Math.min(data.length, start + options.length);
    const slice = data.subarray(start, end);
    // Chunked like a file read, so that consumers see several chunks for a large object.
    return Readable.from(
      (function* () {
        for (let i = 0; i < slice.length; i += 1024 * 1024) yield slice.subarray(i, i + 1024 * 1024);
      })(),
    );
  }

  async writer(p: string, options: WriteOptions = {}): Promise<FileWriter> {
    checkPath(p);
    let data: Buffer | undefined;
    const { stream, size } = collector((d) => (data = d));
    let outcome: Promise<void> | undefined;
    return {
      stream,
      size,
      commit: () =>
        (outcome ??= (async () => {
          if (stream.errored) throw stream.errored;
          if (!stream.writableFinished) {
            if (!stream.writableEnded) stream.end();
            await new Promise<void>((resolve, reject) => {
              stream.once('finish', resolve);
              stream.once('error', reject);
            });
          }
          this.store(p, data ?? Buffer.alloc(0), options.ifAbsent === true);
        })()),
      cancel: async () => {
        outcome ??= Promise.reject(new Error('writer cancelled'));
        outcome.catch(() => undefined);
        stream.destroy();
      },
    };
  }

  async startParts(p: string): Promise<string> {
    const id = randomUUID();
    this.uploads.set(id, { path: checkPath(p), writes: new Map() });
    return id;
  }

  async writePart(p: string, uploadId: string, number: number, body: Readable): Promise<PartInfo> {
    const upload = this.upload(p, uploadId);
    if (!Number.isInteger(number) || number < 1 || number > 10_000) {
      body.resume();
      throw new InvalidPartError(p, number);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
    const data = Buffer.concat(chunks);
    const etag = `${number}.${randomUUID()}`;
    upload.writes.set(etag, data);
    return { number, size: data.length, etag };
  }

  async completeParts(p: string, uploadId: string, parts: PartInfo[]): Promise<void> {
    const upload = this.upload(p, uploadId);
    let previous = 0;
    const pieces: Buffer[] = [];
    for (const part of parts) {
      const data = upload.writes.get(part.etag);
      if (
        part.number <= previous ||
        !data ||
        data.length !== part.size ||
        !part.etag.startsWith(`${part.number}.`)
      ) {
        throw new InvalidPartError(p, part.number);
      }
      previous = part.number;
      pieces.push(data);
    }
    this.store(p, Buffer.concat(pieces), false);
    this.uploads.delete(uploadId);
  }

  async abortParts(p: string, uploadId: string): Promise<void> {
    if (this.uploads.get(uploadId)?.path === p) this.uploads.delete(uploadId);
  }

  async stat(p: string): Promise<FileInfo> {
    const object = this.objects.get(checkPath(p));
    if (object) return { path: p, size: object.data.length, modTime: object.modTime, isDirectory: false };
    const prefix = prefixOf(p);
    for (const key of this.objects.keys()) {
      if (key.startsWith(prefix)) return { path: p, size: 0, modTime: new Date(0), isDirectory: true };
    }
    throw new PathNotFoundError(p);
  }

  async listPage(p: string, options: ListOptions = {}): Promise<ListPage> {
    const prefix = prefixOf(checkPath(p));
    const names = new Set<string>();
    for (const key of this.objects.keys()) {
      if (!key.startsWith(prefix)) continue;
      const name = key.slice(prefix.length).split('/', 1)[0]!;
      if (options.after === undefined || name > options.after) names.add(name);
    }
    const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const limit = Math.max(1, options.limit ?? DEFAULT_PAGE);
    const page = sorted.slice(0, limit);
    return sorted.length > limit ? { names: page, next: page[page.length - 1]! } : { names: page };
  }

  list(p: string): Promise<string[]> {
    return listAllPages(this, p);
  }

  async move(source: string, destination: string): Promise<void> {
    const object = this.object(source);
    this.store(checkPath(destination), object.data, false);
    this.objects.delete(source);
  }

  async delete(p: string): Promise<void> {
    checkPath(p);
    this.objects.delete(p);
    const prefix = prefixOf(p);
    for (const key of [...this.objects.keys()]) if (key.startsWith(prefix)) this.objects.delete(key);
  }

  /** Objects are immutable buffers, so sharing one is a copy of a reference. */
  async link(source: string, destination: string): Promise<boolean> {
    const object = this.object(source);
    this.store(checkPath(destination), object.data, false);
    return true;
  }

  private object(p: string): StoredObject {
    const object = this.objects.get(checkPath(p));
    if (!object) throw new PathNotFoundError(p);
    return object;
  }

  private store(p: string, data: Buffer, ifAbsent: boolean): void {
    if (ifAbsent && this.objects.has(p)) throw new AlreadyExistsError(p);
    this.objects.set(p, { data, modTime: new Date() });
  }

  private upload(p: string, uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.path !== checkPath(p)) throw new PathNotFoundError(`${p} (upload ${uploadId})`);
    return upload;
  }
}
