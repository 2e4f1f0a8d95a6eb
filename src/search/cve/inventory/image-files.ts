/**
 * Walks an image's layers in order, as a container runtime would stack them (OCI image spec,
 * "Image Layer Filesystem Changeset"): a `.wh.NAME` entry deletes NAME (and everything under it)
 * from the layers below, `.wh..wh..opq` empties its directory of what the layers below put there,
 * and a later file replaces an earlier one. Layers stream through gunzip and a tar parser; only
 * the small files the scanner reads are kept (each capped), and Go binaries are scanned as they
 * pass.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { scanGoBinary } from './go-binary.js';
import { parseNpmLock, parsePythonMetadata } from './language-packages.js';
import type { InstalledPackage } from './package.js';

/** No package database or lockfile Berth reads is larger than this; larger files are skipped. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Python metadata headers come first; the long description after them is not needed. */
const MAX_METADATA_BYTES = 256 * 1024;

/** What one file of interest holds, once the layers are stacked. */
export type Found = { kind: 'os'; text: string } | { kind: 'packages'; packages: InstalledPackage[] };

export interface LayerSource {
  mediaType: string;
  open(): Readable;
}

export class UnsupportedLayerError extends Error {}

/** The system files the distribution and its package database are read from. */
const OS_FILES = new Set([
  'etc/os-release',
  'usr/lib/os-release',
  'etc/alpine-release',
  'etc/debian_version',
  'lib/apk/db/installed',
  'var/lib/dpkg/status',
]);

function isOsFile(path: string): boolean {
  return (
    OS_FILES.has(path) ||
    (path.startsWith('var/lib/dpkg/status.d/') && !path.endsWith('.md5sums') && !path.slice(23).includes('/'))
  );
}

function isNpmLock(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === '.package-lock.json') return path.endsWith('node_modules/.package-lock.json');
  return base === 'package-lock.json' && !path.includes('node_modules/');
}

function isPythonMetadata(path: string): boolean {
  return /\.dist-info\/METADATA$/.test(path) || /\.egg-info\/PKG-INFO$/.test(path);
}

function normalize(name: string): string {
  let p = name;
  while (p.startsWith('./')) p = p.slice(2);
  while (p.startsWith('/')) p = p.slice(1);
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

async function readCapped(stream: Readable, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  }
  return size <= max ? Buffer.concat(chunks) : undefined;
}

/** Reads one file's entry into what the scanner keeps of it, or undefined when it is not of interest. */
async function readEntry(header: Header, path: string, stream: Readable): Promise<Found | undefined> {
  if (isOsFile(path)) {
    const data = await readCapped(stream, MAX_FILE_BYTES);
    return data && { kind: 'os', text: data.toString('utf8') };
  }
  if (isNpmLock(path)) {
    const data = await readCapped(stream, MAX_FILE_BYTES);
    return data && { kind: 'packages', packages: parseNpmLock(data.toString('utf8'), `/${path}`) };
  }
  if (isPythonMetadata(path)) {
    // Only the header matters; an over-long description still has its header in the first bytes.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (size < MAX_METADATA_BYTES) chunks.push(chunk);
      size += chunk.length;
    }
    const p = parsePythonMetadata(
      Buffer.concat(chunks).subarray(0, MAX_METADATA_BYTES).toString('utf8'),
      `/${path}`,
    );
    return { kind: 'packages', packages: p ? [p] : [] };
  }
  if ((header.mode ?? 0) & 0o111 && (header.size ?? 0) > 1024) {
    const packages = await scanGoBinary(stream, `/${path}`);
    return packages.length > 0 ? { kind: 'packages', packages } : undefined;
  }
  return undefined;
}

/** Applies one layer's whiteouts to what the layers below left. */
function applyWhiteouts(files: Map<string, Found>, removed: string[], opaque: string[]): void {
  if (removed.length === 0 && opaque.length === 0) return;
  for (const path of [...files.keys()]) {
    const gone =
      removed.some((r) => path === r || path.startsWith(`${r}/`)) ||
      opaque.some((d) => path.startsWith(`${d}/`));
    if (gone) files.delete(path);
  }
}

/** The files of interest of the stacked image, by path (without a leading `/`). */
export async function collectImageFiles(layers: LayerSource[]): Promise<Map<string, Found>> {
  const files = new Map<string, Found>();
  for (const layer of layers) {
    const mediaType = layer.mediaType;
    if (mediaType.includes('zstd'))
      throw new UnsupportedLayerError(`layer media type ${mediaType} is not supported`);
    const gzip = mediaType.endsWith('gzip');
    const added = new Map<string, Found | null>();
    const removed: string[] = [];
    const opaque: string[] = [];
    const tar = extract();
    const walk = (async () => {
      for await (const entry of tar) {
        const header = entry.header;
        const path = normalize(header.name);
        const slash = path.lastIndexOf('/');
        const dir = slash < 0 ? '' : path.slice(0, slash);
        const base = path.slice(slash + 1);
        try {
          if (base === '.wh..wh..opq') {
            opaque.push(dir);
          } else if (base.startsWith('.wh.')) {
            removed.push(dir === '' ? base.slice(4) : `${dir}/${base.slice(4)}`);
          } else if (header.type === 'file' || header.type === 'contiguous-file') {
            const found = await readEntry(header, path, entry as unknown as Readable);
            // A later regular file hides an earlier file of interest, even when it is not one.
            if (found) added.set(path, found);
            else if (files.has(path)) added.set(path, null);
          } else if (files.has(path)) {
            added.set(path, null);
          }
        } finally {
          entry.resume();
        }
      }
    })();
    walk.catch((err: unknown) => tar.destroy(err as Error));
    const source = layer.open();
    const sink = tar as unknown as Writable;
    await Promise.all([gzip ? pipeline(source, createGunzip(), sink) : pipeline(source, sink), walk]);
    applyWhiteouts(files, removed, opaque);
    for (const [path, found] of added) {
      if (found) files.set(path, found);
      else files.delete(path);
    }
  }
  return files;
}
