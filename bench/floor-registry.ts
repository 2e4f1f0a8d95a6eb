/**
 * The push floor: the least work any registry can do per push with Berth's storage layout and
 * durability, on this machine. `run.ts --floor` benchmarks it beside Berth and Distribution, so
 * that a push target can be read against what the disk and the CPUs allow: if this server cannot
 * reach a ratio, no change inside Berth can (issue 14: "which physical limit stops it").
 *
 * What it keeps, because Berth must: blobs streamed to a temporary file while hashed, the digest
 * checked, the file fsynced, renamed into `<repo>/blobs/sha256/<hex>` and its folder fsynced
 * (the same group-committed `FolderSync` as Berth's driver); a manifest stored the same way, then
 * the repository's `index.json` rewritten the same way, in that order, so that a power cut never
 * leaves a tag naming a missing manifest. Four durable files per image, as Berth writes.
 * What it leaves out, because a floor may: authentication, validation of the manifest and of the
 * blobs it names, a metadata database, upload sessions (the `PUT` carries the whole body), logs,
 * metrics, reads of any kind. Not a registry anyone should run.
 *
 *   node dist/bench/floor-registry.js ROOT PORT
 */
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, fsync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { FolderSync } from '../src/storage/fs/folder-sync.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const folders = new FolderSync();
const knownFolders = new Set<string>();

interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  annotations: { 'org.opencontainers.image.ref.name': string };
}

/** Each repository's index.json, kept parsed, and the tail of its update chain (one writer at a time). */
const indexes = new Map<string, { manifests: IndexEntry[]; tail: Promise<void> }>();

async function ensureFolder(folder: string): Promise<void> {
  if (knownFolders.has(folder)) return;
  const first = await mkdir(folder, { recursive: true });
  await folders.created(first, folder);
  knownFolders.add(folder);
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Writes small content durably at `target`: temporary file, fsync, rename, folder fsync. */
async function putDurable(target: string, data: Buffer): Promise<void> {
  await ensureFolder(path.dirname(target));
  const tmp = `${target}.${randomUUID()}.tmp`;
  const fd = openSync(tmp, 'wx');
  try {
    for (let done = 0; done < data.length;) done += writeSync(fd, data, done);
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  await folders.sync(path.dirname(target));
}

function blobPath(root: string, repo: string, digest: string): string {
  return path.join(root, repo, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Streams the request body into a durable blob, hashing as it goes; false when the digest differs. */
async function putBlob(
  root: string,
  repo: string,
  digest: string,
  req: http.IncomingMessage,
): Promise<boolean> {
  const target = blobPath(root, repo, digest);
  await ensureFolder(path.dirname(target));
  const tmp = `${target}.${randomUUID()}.tmp`;
  const hash = createHash('sha256');
  // `flush` fsyncs before the descriptor closes: 'close' means durable, as in Berth's driver.
  const file = createWriteStream(tmp, { flags: 'wx', highWaterMark: 1024 * 1024, flush: true });
  req.on('data', (chunk: Buffer) => hash.update(chunk));
  await new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    file.once('error', reject);
    file.once('close', resolve);
    req.pipe(file);
  });
  if (`sha256:${hash.digest('hex')}` !== digest) {
    rmSync(tmp, { force: true });
    return false;
  }
  renameSync(tmp, target);
  await folders.sync(path.dirname(target));
  return true;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function putManifest(root: string, repo: string, tag: string, body: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  await putDurable(blobPath(root, repo, digest), body);
  let index = indexes.get(repo);
  if (index === undefined) {
    index = { manifests: [], tail: Promise.resolve() };
    indexes.set(repo, index);
  }
  const own = index;
  const update = own.tail.then(async () => {
    const entry: IndexEntry = {
      mediaType: MANIFEST_TYPE,
      digest,
      size: body.length,
      annotations: { 'org.opencontainers.image.ref.name': tag },
    };
    const at = own.manifests.findIndex((m) => m.annotations['org.opencontainers.image.ref.name'] === tag);
    if (at >= 0) own.manifests[at] = entry;
    else own.manifests.push(entry);
    const json = JSON.stringify({ schemaVersion: 2, manifests: own.manifests });
    await putDurable(path.join(root, repo, 'index.json'), Buffer.from(json));
  });
  own.tail = update.catch(() => undefined);
  await update;
  return digest;
}

function answer(res: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Docker-Distribution-API-Version': 'registry/2.0',
    'Content-Length': '0',
    ...headers,
  });
  res.end();
}

const UPLOADS = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/;
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;

export function floorServer(root: string): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://floor');
    const fail = (err: unknown): void => {
      process.stderr.write(`${String(err)}\n`);
      if (!res.headersSent) answer(res, 500);
    };
    if (url.pathname === '/v2/') return answer(res, 200);
    const upload = UPLOADS.exec(url.pathname);
    if (upload !== null && req.method === 'POST') {
      req.resume();
      return answer(res, 202, { Location: `/v2/${upload[1]}/blobs/uploads/${randomUUID()}` });
    }
    const digest = url.searchParams.get('digest');
    if (upload !== null && req.method === 'PUT' && digest !== null && /^sha256:[0-9a-f]{64}$/.test(digest)) {
      putBlob(root, upload[1]!, digest, req).then(
        (ok) => (ok ? answer(res, 201, { Location: `/v2/${upload[1]}/blobs/${digest}` }) : answer(res, 400)),
        fail,
      );
      return;
    }
    const manifest = MANIFEST.exec(url.pathname);
    if (manifest !== null && req.method === 'PUT') {
      readBody(req)
        .then((body) => putManifest(root, manifest[1]!, manifest[2]!, body))
        .then(
          (d) =>
            answer(res, 201, { 'Docker-Content-Digest': d, Location: `/v2/${manifest[1]}/manifests/${d}` }),
          fail,
        );
      return;
    }
    req.resume();
    answer(res, 404);
  });
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const [root, port] = process.argv.slice(2);
  if (root === undefined || port === undefined) {
    process.stderr.write('usage: node dist/bench/floor-registry.js ROOT PORT\n');
    process.exit(2);
  }
  floorServer(root).listen(Number(port), '127.0.0.1');
}
