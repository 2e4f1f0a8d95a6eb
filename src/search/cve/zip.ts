/**
 * Reading ZIP archives (APPNOTE.TXT) entry by entry, from a file: the central directory says
 * where each entry is; an entry is inflated alone (stored or deflate), so an archive of any size
 * costs memory for its directory and the one entry being read. ZIP64 (more than 65,535 entries,
 * or offsets beyond 4 GiB, as OSV's larger archives need) is understood.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  offset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 65_535;
/** A directory larger than this is not an archive Berth should trust. */
const MAX_DIRECTORY = 512 * 1024 * 1024;
/** Sequential reads of a whole archive go this many bytes at a time. */
const WINDOW = 8 * 1024 * 1024;

export class ZipFormatError extends Error {}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new ZipFormatError('archive truncated');
  return buffer;
}

const u64 = (b: Buffer, at: number): number => Number(b.readBigUInt64LE(at));

export class ZipReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly entries: ZipEntry[],
  ) {}

  static async open(file: string): Promise<ZipReader> {
    const fh = await open(file, 'r');
    try {
      return new ZipReader(fh, await readDirectory(fh));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The uncompressed bytes of one entry, refusing entries larger than `maxSize`. */
  async read(entry: ZipEntry, maxSize: number): Promise<Buffer> {
    if (entry.size > maxSize || entry.compressedSize > maxSize) {
      throw new ZipFormatError(`entry ${entry.name} is larger than ${maxSize} bytes`);
    }
    const header = await readAt(this.fh, entry.offset, 30);
    if (header.readUInt32LE(0) !== LOCAL) throw new ZipFormatError(`bad local header for ${entry.name}`);
    const start = entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const data = await readAt(this.fh, start, entry.compressedSize);
    if (entry.method === 0) return data;
    if (entry.method !== 8)
      throw new ZipFormatError(`entry ${entry.name} uses unsupported method ${entry.method}`);
    return inflateRawSync(data, { maxOutputLength: Math.max(maxSize, 1) });
  }

  /**
   * Every entry's uncompressed bytes, in archive order, reading the file in large sequential
   * windows (an index of a large archive would otherwise cost two reads per entry). `data` is
   * undefined for an entry that is larger than `maxSize` or unreadable.
   */
  async *all(maxSize: number): AsyncGenerator<{ index: number; entry: ZipEntry; data: Buffer | undefined }> {
    const order = this.entries
      .map((_, i) => i)
      .sort((a, b) => this.entries[a]!.offset - this.entries[b]!.offset);
    let window: Buffer = Buffer.alloc(0);
    let windowStart = 0;
    const fileSize = (await this.fh.stat()).size;
    const slice = async (start: number, end: number): Promise<Buffer | undefined> => {
      if (end > fileSize) return undefined;
      if (start < windowStart || end > windowStart + window.length) {
        const length = Math.min(Math.max(WINDOW, end - start), fileSize - start);
        window = await readAt(this.fh, start, length);
        windowStart = start;
      }
      return window.subarray(start - windowStart, end - windowStart);
    };
    for (const index of order) {
      const entry = this.entries[index]!;
      let data: Buffer | undefined;
      if (entry.size <= maxSize && entry.compressedSize <= maxSize) {
        const header = await slice(entry.offset, entry.offset + 30);
        if (header && header.readUInt32LE(0) === LOCAL) {
          const start = entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
          const raw = await slice(start, start + entry.compressedSize);
          try {
            if (raw && entry.method === 0) data = Buffer.from(raw);
            else if (raw && entry.method === 8)
              data = inflateRawSync(raw, { maxOutputLength: Math.max(maxSize, 1) });
          } catch {
            data = undefined;
          }
        }
      }
      yield { index, entry, data };
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

async function readDirectory(fh: FileHandle): Promise<ZipEntry[]> {
  const fileSize = (await fh.stat()).size;
  const tailLength = Math.min(fileSize, 22 + MAX_COMMENT + 20);
  const tail = await readAt(fh, fileSize - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipFormatError('no end of central directory: not a zip archive');
  let count = tail.readUInt16LE(at + 10);
  let dirSize = tail.readUInt32LE(at + 12);
  let dirOffset = tail.readUInt32LE(at + 16);
  if (at >= 20 && tail.readUInt32LE(at - 20) === EOCD64_LOCATOR) {
    const record = await readAt(fh, u64(tail, at - 20 + 8), 56);
    if (record.readUInt32LE(0) !== EOCD64) throw new ZipFormatError('bad ZIP64 end of central directory');
    count = u64(record, 32);
    dirSize = u64(record, 40);
    dirOffset = u64(record, 48);
  }
  if (dirSize > MAX_DIRECTORY || dirOffset + dirSize > fileSize)
    throw new ZipFormatError('central directory out of bounds');
  const dir = await readAt(fh, dirOffset, dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL)
      throw new ZipFormatError('bad central directory entry');
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const commentLength = dir.readUInt16LE(p + 32);
    const entry: ZipEntry = {
      name: dir.toString('utf8', p + 46, p + 46 + nameLength),
      method: dir.readUInt16LE(p + 10),
      compressedSize: dir.readUInt32LE(p + 20),
      size: dir.readUInt32LE(p + 24),
      offset: dir.readUInt32LE(p + 42),
    };
    applyZip64Extra(entry, dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength));
    entries.push(entry);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Values saturated at 0xFFFFFFFF come, in this order, from the ZIP64 extra field (id 1). */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  const MAX = 0xffffffff;
  if (entry.size !== MAX && entry.compressedSize !== MAX && entry.offset !== MAX) return;
  for (let q = 0; q + 4 <= extra.length;) {
    const id = extra.readUInt16LE(q);
    const length = extra.readUInt16LE(q + 2);
    if (id === 1) {
      let r = q + 4;
      if (entry.size === MAX) {
        entry.size = u64(extra, r);
        r += 8;
      }
      if (entry.compressedSize === MAX) {
        entry.compressedSize = u64(extra, r);
        r += 8;
      }
      if (entry.offset === MAX) entry.offset = u64(extra, r);
      return;
    }
    q += 4 + length;
  }
}
