/**
 * The pull-through floor: the least work any pull-through cache can do for a first pull, on this
 * machine. `sync.ts --floor` pulls through it beside Berth, so that the first-pull target can be
 * read against what the CPUs allow (issue 14: "which physical limit stops it").
 *
 * What it keeps, because a cache must: each blob is fetched from the upstream once, sent to the
 * client as it arrives, hashed, written to a temporary file that is fsynced, checked against its
 * digest, renamed into place and its folder fsynced (Berth's `FolderSync`). What it leaves out:
 * authentication, the upstream's token dance, tag revalidation, single-flight between clients,
 * a metadata database, logs, metrics, serving anything from the cache. Manifests are passed
 * through untouched. Not a cache anyone should run.
 *
 *   node dist/bench/floor-proxy.js ROOT UPSTREAM_URL     (prints its port, then "stored DIGEST" per blob)
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { FolderSync } from '../src/storage/fs/folder-sync.js';

const BLOB = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/;
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;

const agent = new http.Agent({ keepAlive: true });
const folders = new FolderSync();

function upstreamGet(url: string, accept: string | undefined): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: accept === undefined ? {} : { accept } }, resolve);
    req.once('error', reject);
  });
}

/** Sends the upstream's blob to the client while storing it; resolves once it is durable. */
async function cacheBlob(
  root: string,
  digest: string,
  upstream: http.IncomingMessage,
  res: http.ServerResponse,
) {
  const folder = path.join(root, 'blobs', 'sha256');
  const first = await mkdir(folder, { recursive: true });
  await folders.created(first, folder);
  const target = path.join(folder, digest.slice('sha256:'.length));
  const tmp = `${target}.${randomUUID()}.tmp`;
  const hash = createHash('sha256');
  // `flush` fsyncs before the descriptor closes: 'close' means durable, as in Berth's driver.
  const file = createWriteStream(tmp, { highWaterMark: 1024 * 1024, flush: true });
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': upstream.headers['content-length'] ?? '',
    'Docker-Content-Digest': digest,
  });
  upstream.on('data', (chunk: Buffer) => hash.update(chunk));
  // Two destinations: the upstream flows at the pace of the slower, the client or the disk.
  upstream.pipe(res);
  upstream.pipe(file);
  await new Promise<void>((resolve, reject) => {
    upstream.once('error', reject);
    file.once('error', reject);
    file.once('close', resolve);
  });
  if (`sha256:${hash.digest('hex')}` !== digest) {
    rmSync(tmp, { force: true });
    throw new Error(`${digest} arrived with another digest`);
  }
  renameSync(tmp, target);
  await folders.sync(folder);
}

export function floorProxy(root: string, upstreamUrl: string): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://floor');
    const fail = (err: unknown): void => {
      process.stderr.write(`${String(err)}\n`);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    };
    req.resume();
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'Content-Length': '0' }).end();
      return;
    }
    const blob = BLOB.exec(url.pathname);
    const manifest = MANIFEST.exec(url.pathname);
    if (req.method !== 'GET' || (blob === null && manifest === null)) {
      res.writeHead(404, { 'Content-Length': '0' }).end();
      return;
    }
    upstreamGet(`${upstreamUrl}${url.pathname}`, req.headers.accept)
      .then(async (upstream) => {
        if (upstream.statusCode !== 200 || blob === null) {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
          return;
        }
        await cacheBlob(root, blob[2]!, upstream, res);
        process.stdout.write(`stored ${blob[2]}\n`);
      })
      .catch(fail);
  });
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const [root, upstream] = process.argv.slice(2);
  if (root === undefined || upstream === undefined) {
    process.stderr.write('usage: node dist/bench/floor-proxy.js ROOT UPSTREAM_URL\n');
    process.exit(2);
  }
  const server = floorProxy(root, upstream.replace(/\/$/, ''));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
  });
}
