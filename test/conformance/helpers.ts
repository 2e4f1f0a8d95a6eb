/**
 * Small helpers for the conformance suite, written from the OCI distribution-spec's text: start
 * the registry under test, send raw HTTP requests and see every header, check the spec's error
 * envelope, push blobs and manifests step by step.
 *
 * The suite runs against Berth. With `CONFORMANCE_TARGET=distribution` it runs against CNCF
 * Distribution instead, to check that a failing test fails because of the registry and not because
 * of the test (Distribution 2.8 predates the referrers API, so those tests fail there). With
 * `CONFORMANCE_TARGET=replicas` it runs against three Berth replicas on S3 (Ceph RGW) and
 * PostgreSQL behind a round-robin proxy that sends every request to the next replica
 * (test/e2e/replicas-conformance.test.ts runs it so).
 *
 * Requests go through `node:http`, not `fetch`: `fetch` resolves `..` and `%2e%2e` in paths before
 * sending them, joins repeated headers and cannot show what a HEAD or a 206 really carried.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { readFile } from 'node:fs/promises';
import { startBerth } from '../support/server.js';
import { removeStore, startCluster, type ClusterStore } from '../support/replicas.js';
import { postgresService, s3Service } from '../support/services.js';

// --- the registry under test ---------------------------------------------------------------------

export type TargetKind = 'berth' | 'distribution' | 'replicas';

/** Which registry the suite runs against: Berth unless `CONFORMANCE_TARGET` says otherwise. */
export const TARGET: TargetKind =
  process.env.CONFORMANCE_TARGET === 'distribution'
    ? 'distribution'
    : process.env.CONFORMANCE_TARGET === 'replicas'
      ? 'replicas'
      : 'berth';

/** Skip reason for tests that need Berth's own configuration (auth, rate limits). */
export const BERTH_ONLY = TARGET === 'distribution' ? 'needs a Berth configuration' : false;

export interface Target {
  kind: TargetKind;
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The storage root; reuse it with {@link startTarget} to restart on the same data. */
  root: string;
  /** Everything the process wrote so far, for failure messages. */
  output(): string;
  /** SIGTERM, wait for exit; removes the root when this start created it and `keepRoot` is unset. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit; the root stays. */
  kill(): Promise<void>;
}

export interface TargetOptions {
  /** Restart on this storage root. */
  root?: string;
  /** Listen on this port (a restart keeps absolute `Location`s valid). */
  port?: number;
  /** Berth only: a zot-format config (storage root and port are filled in). */
  config?: Record<string, unknown>;
  /** Keep the root on `stop()` even when this start created it (the caller removes it). */
  keepRoot?: boolean;
}

/** Starts the registry under test on 127.0.0.1 with a temporary storage root. */
export async function startTarget(options: TargetOptions = {}): Promise<Target> {
  if (TARGET === 'distribution') return startDistributionOn(options);
  if (TARGET === 'replicas') return startReplicasOn(options);
  const server = await startBerth({
    ...(options.config === undefined ? {} : { config: options.config }),
    ...(options.root === undefined ? {} : { root: options.root }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.keepRoot ? { cleanup: false } : {}),
  });
  return {
    kind: 'berth',
    url: server.url,
    port: server.port,
    root: server.root,
    output: () => server.output(),
    stop: () => server.stop(),
    kill: () => server.kill(),
  };
}

/**
 * Three replicas on a fresh S3 bucket and PostgreSQL schema behind the round-robin proxy. `root`
 * is a local folder naming the store (store.json), so that a restart on it reuses bucket and schema.
 */
async function startReplicasOn(options: TargetOptions): Promise<Target> {
  const s3 = s3Service();
  const postgres = postgresService();
  if (s3.service === undefined || postgres.service === undefined)
    throw new Error(`replicas target: ${s3.skip ?? postgres.skip}`);
  const createdRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(path.join(tmpdir(), 'conformance-replicas-')));
  const store = createdRoot
    ? undefined
    : (JSON.parse(await readFile(path.join(root, 'store.json'), 'utf8')) as ClusterStore);
  const cluster = await startCluster(s3.service, postgres.service, {
    ...(store ? { store } : {}),
    ...(options.config ? { config: options.config } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  if (createdRoot) await writeFile(path.join(root, 'store.json'), JSON.stringify(cluster.store));
  const finish = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    if (signal === 'SIGKILL') {
      for (const r of cluster.replicas) await r.kill();
      await cluster.stop({ keepStore: true });
      return;
    }
    const keep = options.keepRoot || !createdRoot;
    await cluster.stop({ keepStore: keep });
    if (!keep) await rm(root, { recursive: true, force: true });
  };
  return {
    kind: 'replicas',
    url: cluster.url,
    port: Number(new URL(cluster.url).port),
    root,
    output: () => cluster.replicas.map((r) => r.output()).join('\n'),
    stop: () => finish('SIGTERM'),
    kill: () => finish('SIGKILL'),
  };
}

const livingChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of livingChildren) child.kill('SIGKILL');
});

/**
 * CNCF Distribution with a storage root and port that survive restarts (the shared
 * `startDistribution` makes a fresh folder each time) and a fixed HTTP secret, which signs the
 * upload state in its `Location`s.
 */
async function startDistributionOn(options: TargetOptions): Promise<Target> {
  const createdRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(path.join(tmpdir(), 'conformance-distribution-')));
  const configPath = path.join(root, 'config.yml');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(root, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${options.port ?? 0}`,
      '  secret: berth-conformance-secret',
      '',
    ].join('\n'),
  );
  const proc = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  livingChildren.add(proc);
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => livingChildren.delete(proc));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (match?.[1] !== undefined) {
        clearInterval(timer);
        resolve(Number(match[1]));
      }
    }, 20);
    proc.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`docker-registry exited with ${code}:\n${out}`));
    });
  });
  const finish = async (signal: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
    if (signal === 'SIGTERM' && createdRoot && !options.keepRoot)
      await rm(root, { recursive: true, force: true });
  };
  return {
    kind: 'distribution',
    url: `http://127.0.0.1:${port}`,
    port,
    root,
    output: () => out,
    stop: () => finish('SIGTERM'),
    kill: () => finish('SIGKILL'),
  };
}

// --- names and digests ------------------------------------------------------------------------------

/** A repository name no other test uses: `<prefix>-<random>`, valid under the spec's grammar. */
export function uniqueRepo(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** `<algorithm>:<hex>` of some bytes. */
export function digestOf(bytes: Buffer | string, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Removes a storage root kept with `keepRoot`, and the config file Berth's launcher wrote beside it. */
export async function removeRoot(root: string): Promise<void> {
  // A replicas target's root names its bucket and schema: remove them too.
  const store = await readFile(path.join(root, 'store.json'), 'utf8').catch(() => undefined);
  if (store !== undefined) await removeStore(JSON.parse(store) as ClusterStore);
  await rm(root, { recursive: true, force: true });
  await rm(`${root}.config.json`, { force: true });
}

/**
 * Whether a `Docker-Content-Digest` value is a digest of `bytes` under its own algorithm: the spec
 * lets a registry answer with another algorithm than the one the client used.
 */
export function isDigestOf(header: string | undefined, bytes: Buffer): boolean {
  const algorithm = header?.split(':')[0];
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return false;
  return digestOf(bytes, algorithm) === header;
}

/** `size` random bytes. */
export function randomBlob(size: number): Buffer {
  return randomBytes(size);
}

// --- raw HTTP ---------------------------------------------------------------------------------------

/** What a registry answered, with nothing hidden. */
export interface Reply {
  method: string;
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names and values as received, repeated headers kept apart. */
  rawHeaders: string[];
  body: Buffer;
  /** One header's value, or undefined; repeated headers are joined with `, `. */
  header(name: string): string | undefined;
  /** Every value of a header that may be repeated, each as it was sent. */
  headerValues(name: string): string[];
  text(): string;
  json<T = unknown>(): T;
  /** `METHOD url → status` and the start of the body, for assertion messages. */
  describe(): string;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  /**
   * The request body. An array is written piece by piece with chunked transfer encoding and no
   * `Content-Length` (a streamed upload).
   */
  body?: Buffer | string | Buffer[];
  /** Give up after this long (default 120 s): a hung request fails the test instead of blocking it. */
  timeoutMs?: number;
}

const URL_PARTS = /^(https?):\/\/([^/:]+)(?::(\d+))?(\/.*)?$/;

/**
 * Sends one request to an absolute URL whose path goes out byte for byte as written (no
 * normalisation of `..` or percent-escapes), and reads the whole answer.
 */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  const method = options.method ?? 'GET';
  const parts = URL_PARTS.exec(url);
  if (parts === null || parts[1] !== 'http') throw new Error(`not an http URL: ${url}`);
  const headers: Record<string, string> = { ...options.headers };
  const lower = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  const body = options.body;
  if (
    !Array.isArray(body) &&
    !lower.has('content-length') &&
    (body !== undefined || ['POST', 'PUT', 'PATCH'].includes(method))
  ) {
    headers['content-length'] = String(body === undefined ? 0 : Buffer.byteLength(body));
  }
  if (Array.isArray(body) && !lower.has('transfer-encoding')) headers['transfer-encoding'] = 'chunked';
  return new Promise<Reply>((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: parts[2], port: parts[3] ?? 80, path: parts[4] ?? '/', method, headers, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let ended = false;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          ended = true;
          resolve(makeReply(method, url, res, Buffer.concat(chunks)));
        });
        res.on('close', () => {
          if (!ended)
            reject(new Error(`${method} ${url}: the connection closed in the middle of the answer`));
        });
      },
    );
    req.setTimeout(options.timeoutMs ?? 120_000, () =>
      req.destroy(new Error(`${method} ${url}: no answer in time`)),
    );
    // A registry may answer (413, 400...) before it has read the whole body and then close the
    // connection: the body's write fails, but the answer already received is what counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (Array.isArray(body)) {
      for (const piece of body) req.write(piece);
      req.end();
    } else {
      req.end(body);
    }
  });
}

function makeReply(method: string, url: string, res: http.IncomingMessage, body: Buffer): Reply {
  const reply: Reply = {
    method,
    url,
    status: res.statusCode ?? 0,
    headers: res.headers,
    rawHeaders: res.rawHeaders,
    body,
    header(name) {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    headerValues(name) {
      const values: string[] = [];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i]?.toLowerCase() === name.toLowerCase()) values.push(res.rawHeaders[i + 1] ?? '');
      }
      return values;
    },
    text: () => body.toString('utf8'),
    json<T>() {
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch {
        throw new assert.AssertionError({ message: `not JSON: ${reply.describe()}` });
      }
    },
    describe: () => `${method} ${url} → ${res.statusCode} ${body.toString('utf8').slice(0, 600)}`,
  };
  return reply;
}

/**
 * Resolves a `Location` header the way a client does: absolute as it is, relative against the
 * URL of the request that returned it. Throws when the header is missing.
 */
export function locationOf(reply: Reply): string {
  const location = reply.header('location');
  assert.ok(location, `no Location header: ${reply.describe()}`);
  return new URL(location, reply.url).href;
}

/** Adds query parameters to a URL without re-encoding the ones it already has. */
export function withQuery(url: string, params: Record<string, string | string[]>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value])
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(v)}`);
  }
  if (pairs.length === 0) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${pairs.join('&')}`;
}

// --- the error envelope --------------------------------------------------------------------------------

/** Every error code of the spec's table. */
export const SPEC_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
] as const;

export type SpecErrorCode = (typeof SPEC_ERROR_CODES)[number];

interface ErrorEnvelope {
  errors?: unknown;
}

/**
 * Asserts the status and, unless the request was a HEAD, the spec's error body:
 * `{"errors":[{"code","message","detail"?}, ...]}` with every `code` upper case and underscores,
 * every `message` a string, and `code` (or one of `code`) among them.
 */
export function assertError(
  reply: Reply,
  status: number,
  code: SpecErrorCode | readonly SpecErrorCode[],
): void {
  assert.equal(reply.status, status, `expected ${status}: ${reply.describe()}`);
  if (reply.method === 'HEAD') {
    assert.equal(reply.body.length, 0, `a HEAD answer carries no body: ${reply.describe()}`);
    return;
  }
  assertEnvelope(reply);
  const codes = (reply.json<{ errors: { code: string }[] }>().errors ?? []).map((e) => e.code);
  const wanted: readonly string[] = typeof code === 'string' ? [code] : code;
  assert.ok(
    codes.some((c) => wanted.includes(c)),
    `expected error code ${wanted.join(' or ')}, got ${codes.join(', ')}: ${reply.describe()}`,
  );
}

/** Asserts that a body is the spec's error envelope, with codes from the spec's table. */
export function assertEnvelope(reply: Reply): void {
  const type = reply.header('content-type') ?? '';
  assert.match(type, /^application\/json\b/, `an error body is JSON: ${reply.describe()}`);
  const body = reply.json<ErrorEnvelope>();
  assert.ok(
    Array.isArray(body.errors) && body.errors.length > 0,
    `"errors" is a non-empty array: ${reply.describe()}`,
  );
  for (const entry of body.errors as unknown[]) {
    assert.ok(typeof entry === 'object' && entry !== null, `each error is an object: ${reply.describe()}`);
    const { code, message } = entry as { code?: unknown; message?: unknown };
    assert.ok(
      typeof code === 'string' && /^[A-Z_]+$/.test(code),
      `code is upper case and underscores: ${reply.describe()}`,
    );
    assert.ok(
      (SPEC_ERROR_CODES as readonly string[]).includes(code),
      `code ${code} is one of the spec's: ${reply.describe()}`,
    );
    assert.ok(
      message === undefined || typeof message === 'string',
      `message is a string: ${reply.describe()}`,
    );
  }
}

/** Asserts a status, with the answer in the message. */
export function assertStatus(reply: Reply, ...expected: number[]): void {
  assert.ok(expected.includes(reply.status), `expected ${expected.join(' or ')}: ${reply.describe()}`);
}

// --- pushing, step by step -----------------------------------------------------------------------------

/** `POST /v2/<repo>/blobs/uploads/` (202 expected); returns the session URL. */
export async function startUpload(
  base: string,
  repo: string,
  query: Record<string, string> = {},
): Promise<string> {
  const reply = await send(withQuery(`${base}/v2/${repo}/blobs/uploads/`, query), { method: 'POST' });
  assertStatus(reply, 202);
  return locationOf(reply);
}

/** Pushes bytes as a blob with `POST` then one `PUT ?digest=` (201 expected); returns the PUT answer. */
export async function pushBlob(
  base: string,
  repo: string,
  bytes: Buffer,
  digest = digestOf(bytes),
): Promise<Reply> {
  const session = await startUpload(
    base,
    repo,
    digest.startsWith('sha256:') ? {} : { 'digest-algorithm': digest.split(':')[0] ?? '' },
  );
  const reply = await send(withQuery(session, { digest }), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  assertStatus(reply, 201);
  return reply;
}

/** Something with bytes and a media type: a manifest as the fixtures make it. */
export interface ManifestBytes {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

/** `PUT /v2/<repo>/manifests/<reference>` with the manifest's media type; returns the answer unchecked. */
export function putManifest(
  base: string,
  repo: string,
  reference: string,
  manifest: ManifestBytes,
  query: Record<string, string | string[]> = {},
): Promise<Reply> {
  return send(withQuery(`${base}/v2/${repo}/manifests/${reference}`, query), {
    method: 'PUT',
    headers: { 'content-type': manifest.mediaType },
    body: manifest.bytes,
  });
}

/** What the fixtures call `Content`: blobs, child manifests, then the manifest. */
export interface Pushable {
  blobs: { digest: string; bytes: Buffer }[];
  manifests: ManifestBytes[];
  manifest: ManifestBytes;
}

/** Pushes what a manifest needs: blobs, then child manifests by digest; every step must succeed. */
export async function pushParts(
  base: string,
  repo: string,
  content: Omit<Pushable, 'manifest'>,
): Promise<void> {
  const seen = new Set<string>();
  for (const blob of content.blobs) {
    if (seen.has(blob.digest)) continue;
    seen.add(blob.digest);
    await pushBlob(base, repo, blob.bytes, blob.digest);
  }
  for (const child of content.manifests)
    assertStatus(await putManifest(base, repo, child.digest, child), 201);
}

/**
 * Pushes blobs, then child manifests by digest, then the manifest by `reference` (its digest when
 * absent); every step must succeed. Returns the final PUT's answer.
 */
export async function pushAll(
  base: string,
  repo: string,
  content: Pushable,
  reference?: string,
): Promise<Reply> {
  await pushParts(base, repo, content);
  const reply = await putManifest(base, repo, reference ?? content.manifest.digest, content.manifest);
  assertStatus(reply, 201);
  return reply;
}

/** `GET /v2/_catalog`, following every `Link rel="next"`; returns the repositories in order. */
export async function walkCatalog(base: string, pageSize?: number): Promise<string[]> {
  const repositories: string[] = [];
  let url: string | undefined = `${base}/v2/_catalog${pageSize === undefined ? '' : `?n=${pageSize}`}`;
  for (let pages = 0; url !== undefined; pages++) {
    assert.ok(pages < 10_000, 'the catalog pagination never ends');
    const reply = await send(url);
    assertStatus(reply, 200);
    repositories.push(...(reply.json<{ repositories?: string[] | null }>().repositories ?? []));
    url = nextLink(reply);
  }
  return repositories;
}

/** The `rel="next"` target of a `Link` header (RFC 5988), resolved against the request; or undefined. */
export function nextLink(reply: Reply): string | undefined {
  for (const value of reply.headerValues('link')) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (match && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/.test(match[2] ?? ''))
        return new URL(match[1] ?? '', reply.url).href;
    }
  }
  return undefined;
}
