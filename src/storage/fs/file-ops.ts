/**
 * The file primitives the filesystem driver is built of: new files opened as plain descriptors and
 * fsynced on the thread pool, temporary names, renames and links that create a missing destination
 * folder (with the new folders' names made durable) only when the operation finds it missing.
 */
import { closeSync, fsync as fsFsync, open as fsOpen } from 'node:fs';
import { link, mkdir, rename, stat, type FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FolderSync } from './folder-sync.js';

export function isCode(err: unknown, ...codes: string[]): boolean {
  return (
    typeof err === 'object' && err !== null && codes.includes((err as { code?: unknown }).code as string)
  );
}

/** Writes a stream into an open file at its current position; resolves with the bytes written. */
export async function writeAll(fh: FileHandle, body: Readable): Promise<number> {
  let size = 0;
  try {
    for await (const chunk of body) {
      const data = chunk as Buffer;
      for (let done = 0; done < data.length;) done += (await fh.write(data, done)).bytesWritten;
      size += data.length;
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  return size;
}

export function tempName(target: string): string {
  return `${target}.tmp-${randomUUID()}`;
}

/**
 * Folder creation happens only when an operation finds its folder missing: a `mkdir -p` before
 * every write costs a syscall per path component on the hot path, and the folder is almost
 * always there already.
 */
export async function withFolder<T>(
  file: string,
  op: () => Promise<T>,
  folders: FolderSync | undefined,
): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
    await makeFolder(path.dirname(file), folders);
    return op();
  }
}

/** `mkdir -p`, with the new folders' own names made durable. */
export async function makeFolder(folder: string, folders: FolderSync | undefined): Promise<void> {
  const first = await mkdir(folder, { recursive: true });
  await folders?.created(first, folder);
}

/** Opens a new file (`wx`) as a plain descriptor, which a write stream then owns and closes. */
export function openFd(file: string): Promise<number> {
  return new Promise((resolve, reject) => fsOpen(file, 'wx', (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsFsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already failing: the caller's error is the one that matters.
  }
}

/**
 * Runs `op(from, to)` (a rename or a link), creating `to`'s folder when the operation finds it
 * missing. ENOENT names either side: only a missing destination folder is worth a retry, so the
 * source is checked first (its absence is the error to report).
 */
async function creatingFolder(
  op: (from: string, to: string) => Promise<void>,
  from: string,
  to: string,
  folders: FolderSync | undefined,
): Promise<void> {
  try {
    await op(from, to);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
    await stat(from);
    await makeFolder(path.dirname(to), folders);
    await op(from, to);
  }
}

export function renameCreating(from: string, to: string, folders: FolderSync | undefined): Promise<void> {
  return creatingFolder(rename, from, to, folders);
}

export function linkCreating(from: string, to: string, folders: FolderSync | undefined): Promise<void> {
  return creatingFolder(link, from, to, folders);
}
