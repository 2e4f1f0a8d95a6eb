/**
 * One upstream registry (one `registries[]` entry): the distribution API calls a pull-through cache
 * and a mirror make, over the entry's URLs in order (the first is the registry, the others its
 * mirrors), with authentication, a log line and metrics per request, and every failure classified
 * as an {@link UpstreamError} the callers can act on (serve the cache, answer 404, retry later).
 *
 * A URL that could not be reached is skipped for a short cool-down, so that while an upstream is
 * down, pulls of cached images are answered at once instead of each waiting for a timeout.
 */
import { Transform, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { digestOf, tryParseDigest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { baseMediaType, MANIFEST_MEDIA_TYPES } from '../oci/media-types.js';
import { TokenRequestError, UpstreamAuth, type Credentials } from './auth.js';
import type { SyncMetrics } from './metrics.js';
import { DOCKER_HUB_REGISTRY_HOST, dockerHubName, isDockerHub } from './names.js';
import {
  bodyError,
  Transport,
  TransportError,
  type TransportOptions,
  type TransportResponse,
} from './transport.js';

/**
 * - `not-found`: the upstream has no such repository or reference (404; also 401/403 after
 *   authenticating, which is how Docker Hub answers for repositories that do not exist).
 * - `rate-limited`: 429.
 * - `unreachable`: no connection, or the connection broke.
 * - `timeout`: connected, then nothing arrived for the stall timeout.
 * - `bad-response`: 5xx, or content that is not what was asked for (wrong digest, not a manifest).
 */
export type UpstreamErrorKind = 'not-found' | 'rate-limited' | 'unreachable' | 'timeout' | 'bad-response';

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    /** The upstream's display name (its first URL's host). */
    readonly upstream: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }

  /** Worth trying again later (the same request may well succeed). */
  get transient(): boolean {
    return this.kind !== 'not-found';
  }
}

/** Which failure to report when several attempts failed: the most specific one. */
export function moreSpecific(a: UpstreamError | undefined, b: UpstreamError): UpstreamError {
  return a === undefined || KIND_RANK[b.kind] > KIND_RANK[a.kind] ? b : a;
}

const KIND_RANK: Record<UpstreamErrorKind, number> = {
  'not-found': 5,
  'rate-limited': 4,
  'bad-response': 3,
  timeout: 2,
  unreachable: 1,
};

export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');

export interface UpstreamManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface ManifestHead {
  /** `Docker-Content-Digest`, when the upstream sent one. */
  digest: string | undefined;
  mediaType: string;
}

export interface UpstreamBlob {
  /** From `Content-Length`, when sent. */
  size: number | undefined;
  /** The bytes; errors with an UpstreamError when the transfer breaks. */
  body: Readable;
}

export interface UpstreamOptions {
  /** `registries[].urls`. */
  urls: readonly string[];
  /** Credentials keyed by `host[:port]` as written in the URLs (`credentialsFile`). */
  credentials: Readonly<Record<string, Credentials>>;
  transport: TransportOptions;
  log: Logger;
  metrics: SyncMetrics;
  /** How long a URL that could not be reached is skipped (default 5 s). */
  cooldownMs?: number;
  /** At most this many requests per second start (zot's `reqPerSec`); unlimited when absent. */
  requestsPerSecond?: number;
  now?: () => number;
}

interface Endpoint {
  /** Base URL, `scheme://host[:port]`, with Docker Hub aliases resolved. */
  base: URL;
  dockerHub: boolean;
  auth: UpstreamAuth;
  /** Skipped until then after it could not be reached, with that failure. */
  downUntil: number;
  lastFailure: UpstreamError | undefined;
}

interface Call {
  method: 'GET' | 'HEAD';
  /** Repository (upstream name, before Docker Hub's `library/`), or undefined for the catalog. */
  repo: string | undefined;
  /** Path after `/v2/<repo>/`, or the whole path for the catalog and next pages. */
  path: string;
  absolute?: boolean;
  accept?: string;
}

export class UpstreamRegistry {
  /** Display name for logs and metrics: the first URL's host, as configured. */
  readonly name: string;
  private readonly endpoints: Endpoint[];
  private readonly transport: Transport;
  private readonly log: Logger;
  private readonly metrics: SyncMetrics;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly spacingMs: number;
  /** When the next request may start, with `reqPerSec`. */
  private nextSlot = 0;

  constructor(options: UpstreamOptions) {
    const first = options.urls[0];
    if (first === undefined) throw new Error('an upstream needs at least one URL');
    this.name = new URL(first).host;
    this.transport = new Transport(options.transport);
    this.log = options.log.child({ upstream: this.name });
    this.metrics = options.metrics;
    this.cooldownMs = options.cooldownMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.spacingMs = options.requestsPerSecond ? 1000 / options.requestsPerSecond : 0;
    this.endpoints = options.urls.map((text) => {
      const url = new URL(text);
      const dockerHub = isDockerHub(url);
      const base = new URL(`${url.protocol}//${dockerHub ? DOCKER_HUB_REGISTRY_HOST : url.host}`);
      if (dockerHub && url.port) base.port = url.port;
      const credentials = options.credentials[url.host] ?? options.credentials[url.hostname];
      const auth = new UpstreamAuth({ transport: this.transport, credentials, log: this.log, now: this.now });
      return { base, dockerHub, auth, downUntil: 0, lastFailure: undefined };
    });
  }

  /** Digest and media type of a manifest, without its body (a HEAD: Docker Hub does not count those). */
  async headManifest(repo: string, reference: string): Promise<ManifestHead> {
    const res = await this.call({
      method: 'HEAD',
      repo,
      path: `manifests/${reference}`,
      accept: MANIFEST_ACCEPT,
    });
    res.body.resume();
    const digest = header(res, 'docker-content-digest');
    return {
      digest: digest && tryParseDigest(digest) ? digest : undefined,
      mediaType: baseMediaType(header(res, 'content-type')),
    };
  }

  /** A manifest's bytes, checked against the digest asked for (or the one the upstream announced). */
  async getManifest(repo: string, reference: string): Promise<UpstreamManifest> {
    const res = await this.call({
      method: 'GET',
      repo,
      path: `manifests/${reference}`,
      accept: MANIFEST_ACCEPT,
    });
    const bytes = await this.readSmall(res, MAX_MANIFEST_BYTES, `manifest ${repo}:${reference}`);
    const mediaType = baseMediaType(header(res, 'content-type')) || mediaTypeField(bytes);
    const wanted = tryParseDigest(reference) ?? tryParseDigest(header(res, 'docker-content-digest') ?? '');
    const digest = digestOf(bytes, wanted?.algorithm ?? 'sha256');
    if (wanted && wanted.value !== digest) {
      throw this.fail(
        'bad-response',
        `manifest ${repo}:${reference} from ${this.name} has digest ${digest}, not ${wanted.value}`,
      );
    }
    return { digest, mediaType, bytes };
  }

  /** Starts a blob download; the body streams (and counts towards the upstream bytes metric). */
  async getBlob(repo: string, digest: string): Promise<UpstreamBlob> {
    const started = this.now();
    const res = await this.call({ method: 'GET', repo, path: `blobs/${digest}` });
    let received = 0;
    const metrics = this.metrics;
    const name = this.name;
    const body = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        metrics.upstreamBytes(name, chunk.length);
        callback(null, chunk);
      },
    });
    // Consumers get an UpstreamError with a kind, not a socket error; and a consumer that stops
    // reading releases the upstream connection.
    res.body.once('error', (err) => body.destroy(this.classifyBodyError(err, res.url, repo, digest)));
    body.once('close', () => {
      if (!res.body.readableEnded) res.body.destroy();
    });
    res.body.once('end', () =>
      this.log.info(
        { repo, digest, bytes: received, ms: this.now() - started },
        'upstream blob transfer finished',
      ),
    );
    res.body.pipe(body);
    return { size: contentLength(res), body };
  }

  /** A blob's size without its bytes. */
  async headBlob(repo: string, digest: string): Promise<number | undefined> {
    const res = await this.call({ method: 'HEAD', repo, path: `blobs/${digest}` });
    res.body.resume();
    return contentLength(res);
  }

  /** Every tag of a repository (following `Link` pagination). */
  async listTags(repo: string): Promise<string[]> {
    const tags: string[] = [];
    for await (const page of this.pages({ method: 'GET', repo, path: 'tags/list?n=1000' })) {
      const list = (page as { tags?: unknown }).tags;
      if (Array.isArray(list)) for (const tag of list) if (typeof tag === 'string') tags.push(tag);
    }
    return tags;
  }

  /** Every repository the upstream lists in `/v2/_catalog` (following `Link` pagination). */
  async catalog(): Promise<string[]> {
    const repos: string[] = [];
    for await (const page of this.pages({ method: 'GET', repo: undefined, path: '/v2/_catalog?n=1000' })) {
      const list = (page as { repositories?: unknown }).repositories;
      if (Array.isArray(list)) for (const repo of list) if (typeof repo === 'string') repos.push(repo);
    }
    return repos;
  }

  close(): void {
    this.transport.close();
  }

  private async *pages(first: Call): AsyncGenerator<unknown> {
    let call: Call | undefined = first;
    for (let page = 0; call && page < 10_000; page++) {
      const res = await this.call(call);
      const bytes = await this.readSmall(res, 16 * 1024 * 1024, `listing ${res.url.pathname}`);
      try {
        yield JSON.parse(bytes.toString('utf8')) as unknown;
      } catch {
        throw this.fail('bad-response', `${this.name} sent invalid JSON for ${res.url.pathname}`);
      }
      const next = nextLink(header(res, 'link'));
      call = next === undefined ? undefined : { ...call, path: absolutePath(next, res.url), absolute: true };
    }
  }

  /** Sends one call to the first URL that answers; throws an UpstreamError unless the answer is 2xx. */
  private async call(call: Call): Promise<TransportResponse> {
    const failures: UpstreamError[] = [];
    const now = this.now();
    const usable = this.endpoints.filter((e) => e.downUntil <= now);
    for (const endpoint of usable) {
      try {
        return await this.callEndpoint(endpoint, call);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        failures.push(err);
      }
    }
    if (failures.length === 0) {
      // Every URL failed moments ago: answer with that failure now rather than wait for it again.
      const seconds = Math.ceil((Math.min(...this.endpoints.map((e) => e.downUntil)) - now) / 1000);
      const last = this.endpoints.reduce<UpstreamError | undefined>(
        (best, e) => (e.lastFailure ? moreSpecific(best, e.lastFailure) : best),
        undefined,
      );
      throw this.fail(
        last?.kind ?? 'unreachable',
        `${last?.message ?? `${this.name} is unreachable`} (moments ago; next attempt in ${seconds} s)`,
      );
    }
    throw failures.reduce((best, err) => moreSpecific(best, err));
  }

  private async callEndpoint(endpoint: Endpoint, call: Call): Promise<TransportResponse> {
    const wireRepo =
      call.repo === undefined ? undefined : endpoint.dockerHub ? dockerHubName(call.repo) : call.repo;
    const path = wireRepo === undefined || call.absolute ? call.path : `/v2/${wireRepo}/${call.path}`;
    const url = new URL(path, endpoint.base);
    const scope = wireRepo === undefined ? 'registry:catalog:*' : `repository:${wireRepo}:pull`;
    const headers: Record<string, string> = { 'user-agent': 'berth-sync' };
    if (call.accept) headers.accept = call.accept;
    await this.pace();
    const started = this.now();
    let res: TransportResponse;
    try {
      const auth = await endpoint.auth.headerFor(url.origin, scope);
      if (auth) headers.authorization = auth;
      res = await this.transport.request(url, { method: call.method, headers });
      if (res.status === 401) {
        const retry = await endpoint.auth.answer(url.origin, scope, res.headers['www-authenticate']);
        if (retry !== undefined && retry !== headers.authorization) {
          res.body.resume();
          res = await this.transport.request(url, {
            method: call.method,
            headers: { ...headers, authorization: retry },
          });
        }
      }
    } catch (err) {
      const failure = this.classifyRequestError(err, url);
      if (failure.kind === 'unreachable' || failure.kind === 'timeout') {
        endpoint.downUntil = this.now() + this.cooldownMs;
        endpoint.lastFailure = failure;
      }
      this.log.warn(
        { method: call.method, url: loggable(url), err: failure.message, ms: this.now() - started },
        'upstream request failed',
      );
      this.metrics.upstreamError(this.name, failure.kind);
      throw failure;
    }
    this.log.info(
      { method: call.method, url: loggable(res.url), status: res.status, ms: this.now() - started },
      'upstream request',
    );
    endpoint.downUntil = 0;
    if (res.status >= 200 && res.status < 300) return res;
    res.body.resume();
    const what = `${call.method} ${url.pathname}`;
    const failure =
      res.status === 404
        ? this.fail(
            'not-found',
            `${this.name} has no ${wireRepo ?? ''}${wireRepo ? ' ' : ''}${call.path.split('?')[0] ?? ''} (404)`,
            404,
          )
        : res.status === 401 || res.status === 403
          ? this.fail(
              'not-found',
              `${this.name} refused ${what} with ${res.status}: the repository does not exist, or needs credentials`,
              res.status,
            )
          : res.status === 429
            ? this.fail('rate-limited', `${this.name} rate-limited ${what} (429)`, 429)
            : this.fail('bad-response', `${this.name} answered ${what} with ${res.status}`, res.status);
    this.metrics.upstreamError(this.name, failure.kind);
    throw failure;
  }

  /** Waits for this request's turn under `reqPerSec`. */
  private async pace(): Promise<void> {
    if (this.spacingMs <= 0) return;
    const now = this.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + this.spacingMs;
    if (at > now) await sleep(at - now);
  }

  private classifyRequestError(err: unknown, url: URL): UpstreamError {
    if (err instanceof UpstreamError) return err;
    if (err instanceof TransportError) {
      return this.fail(
        err.kind === 'network' || err.kind === 'connect-timeout' ? 'unreachable' : 'timeout',
        err.message,
        undefined,
        err,
      );
    }
    if (err instanceof TokenRequestError) {
      const kind =
        err.status === 401 || err.status === 403
          ? 'not-found'
          : err.status === 429
            ? 'rate-limited'
            : 'bad-response';
      return this.fail(kind, err.message, err.status, err);
    }
    return this.fail(
      'bad-response',
      `request to ${url.host} failed: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      err,
    );
  }

  private classifyBodyError(err: Error, url: URL, repo: string, digest: string): UpstreamError {
    if (err instanceof UpstreamError) return err;
    const cause = bodyError(err, url);
    if (!(cause instanceof TransportError))
      return this.fail(
        'bad-response',
        `${this.name}: blob ${digest} of ${repo}: ${cause.message}`,
        undefined,
        cause,
      );
    this.log.warn({ repo, digest, err: cause.message }, 'upstream blob transfer broke');
    const failure = this.fail(
      cause.kind === 'stall' ? 'timeout' : 'unreachable',
      `${this.name}: blob ${digest} of ${repo}: ${cause.message}`,
      undefined,
      cause,
    );
    this.metrics.upstreamError(this.name, failure.kind);
    return failure;
  }

  private async readSmall(res: TransportResponse, limit: number, what: string): Promise<Buffer> {
    const declared = contentLength(res);
    if (declared !== undefined && declared > limit) {
      res.body.destroy();
      throw this.fail('bad-response', `${this.name}: ${what} is ${declared} bytes, more than ${limit}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          res.body.destroy();
          throw this.fail('bad-response', `${this.name}: ${what} is more than ${limit} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      throw this.classifyRequestError(err, res.url);
    }
    this.metrics.upstreamBytes(this.name, size);
    return Buffer.concat(chunks);
  }

  private fail(kind: UpstreamErrorKind, message: string, status?: number, cause?: unknown): UpstreamError {
    return new UpstreamError(kind, this.name, message, status, cause === undefined ? undefined : { cause });
  }
}

/**
 * A URL for the logs: no user info and no query, which after a redirect to a CDN holds a
 * signature that grants access.
 */
function loggable(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function header(res: TransportResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contentLength(res: TransportResponse): number | undefined {
  const text = header(res, 'content-length');
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** The `mediaType` field of a manifest, for upstreams that send a generic Content-Type. */
function mediaTypeField(bytes: Buffer): string {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof doc.mediaType === 'string' ? doc.mediaType : '';
  } catch {
    return '';
  }
}

/** The `rel="next"` target of a `Link` header. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (match && /\brel\s*=\s*"?next"?/i.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

/** A Link target as a path and query on the same origin (a registry's next page stays on it). */
function absolutePath(target: string, base: URL): string {
  const url = new URL(target, base);
  return `${url.pathname}${url.search}`;
}
