/**
 * The HTTP server: one request context per request, authentication for `/v2` (then the router's
 * authorization pre-handler), dispatch, errors as the spec's envelope with the challenge a refusal
 * carries, and one access-log line per request. Routes outside `/v2` (health,
 * metrics, auth, UI) are plain handlers registered by the app, each deciding its own access.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BlockList, Socket } from 'node:net';
import type { Logger } from 'pino';
import { ANONYMOUS, type Identity } from '../auth/identity.js';
import { loggableUserName } from '../auth/loggable-name.js';
import { RegistryError } from '../oci/errors.js';
import type { AccessGuard } from './access.js';
import { createTlsServer, type TlsServerOptions } from './tls.js';
import type { RequestContext } from './context.js';
import { resolveClientAddress, trustedProxyList } from './ext/request-info.js';
import { malformedRequestAnswer, sendError } from './respond.js';
import { handleV2 } from './v2/router.js';
import { createRateLimiter, type RateLimitConfig } from './rate-limit.js';
import type { ThrottleBuckets } from '../meta/throttle-buckets.js';
import type { V2Deps } from './v2/deps.js';

/** A route outside /v2: returns true when it handled the request. */
export type PlainRoute = (ctx: RequestContext) => Promise<boolean> | boolean;

export interface RequestRecord {
  method: string;
  /** The URL path, without the query. */
  path: string;
  route: string;
  repo: string | undefined;
  /** Who made the request (`""` for anonymous), for the audit log. */
  user: string;
  requestId: string;
  /** The peer's address; behind a reverse proxy, the proxy's. */
  remoteAddress: string | undefined;
  /** The `X-Forwarded-For` header as received (recorded, not trusted). */
  forwardedFor: string | undefined;
  /** The `Docker-Content-Digest` the response carried (what a push stored). */
  digest: string | undefined;
  status: number;
  durationSeconds: number;
  bytesIn: number;
  bytesOut: number;
}

export interface HttpServerOptions {
  log: Logger;
  access: AccessGuard;
  v2: V2Deps;
  /** Tried in order before the 404, for every path that is not /v2. */
  routes: PlainRoute[];
  /** Called once per finished request (metrics). */
  onRequestEnd?: (record: RequestRecord) => void;
  /** zot's `http.ratelimit`. */
  rateLimit?: RateLimitConfig | undefined;
  /** Where the rate limit's buckets live: the metadata store, shared by every replica. */
  throttles: ThrottleBuckets;
  /** `http.trustedProxies`: peers whose forwarded headers are believed. */
  trustedProxies?: readonly string[];
  /** How long a connection may sit idle (no bytes either way) before it is closed. */
  idleTimeoutMs?: number;
  /** `http.tls`: serve HTTPS (see tls.ts). */
  tls?: TlsServerOptions | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Per connection: the requests whose answers are still being written (pipelining queues them),
 * who waits for them, and the bytes read and written when its last request ended. One record per
 * socket, looked up once per request.
 */
interface ConnectionState {
  readonly requests: Set<IncomingMessage>;
  readonly waiters: (() => void)[];
  read: number;
  written: number;
}

const connections = new WeakMap<Socket, ConnectionState>();

function connectionOf(socket: Socket): ConnectionState {
  let state = connections.get(socket);
  if (state === undefined) {
    state = { requests: new Set(), waiters: [], read: 0, written: 0 };
    connections.set(socket, state);
  }
  return state;
}

/**
 * One request as the routes see it. A class, not an object literal: a literal with a getter makes
 * V8 build a fresh hidden class per request (its accessor holds a new closure each time), which
 * cost more CPU per hot GET, in allocation and garbage collection, than the rest of this file.
 * The child logger and the parsed URL are made on first use: most requests need neither.
 */
class HttpRequest implements RequestContext {
  identity: Identity = ANONYMOUS;
  route = 'unknown';
  repo: string | undefined = undefined;
  readonly clientAddress: string;
  readonly path: string;
  #url: URL | undefined = undefined;
  #log: Logger | undefined = undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly id: string,
    private readonly baseLog: Logger,
    trusted: BlockList | undefined,
  ) {
    this.clientAddress = resolveClientAddress(req, trusted);
    const raw = req.url ?? '/';
    this.path = plainPath(raw) ?? this.url.pathname;
  }

  get url(): URL {
    return (this.#url ??= parseRequestUrl(this.req.url ?? '/'));
  }

  get log(): Logger {
    return (this.#log ??= this.baseLog.child({ reqId: this.id }));
  }
}

function parseRequestUrl(raw: string): URL {
  try {
    return new URL(raw, 'http://registry.invalid');
  } catch {
    return new URL('http://registry.invalid/');
  }
}

/** Characters a URL path keeps exactly as written (nothing percent-encoded, no backslash read as a slash). */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

/**
 * The path of a request target without building a URL, when parsing would return it unchanged:
 * only characters URL parsing keeps as they are, and no `.` / `..` segment (percent-encoded or
 * not) for it to resolve. Anything else returns undefined, and the URL parser decides.
 */
export function plainPath(raw: string): string | undefined {
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  if (!PLAIN_PATH.test(path)) return undefined;
  if (path.includes('/.') || (path.includes('%') && /%2e/i.test(path))) return undefined;
  return path;
}

export function createHttpServer(options: HttpServerOptions): Server {
  const { log, access } = options;
  let counter = 0;
  const prefix = Math.random().toString(36).slice(2, 8);

  const rateLimited = createRateLimiter(options.rateLimit, options.throttles);
  const trusted = options.trustedProxies?.length ? trustedProxyList(options.trustedProxies) : undefined;
  const handle = async (ctx: HttpRequest): Promise<void> => {
    try {
      if (rateLimited && (await rateLimited(ctx.req.method ?? 'GET')) > 0) {
        throw new RegistryError('TOOMANYREQUESTS', 'rate limit exceeded');
      }
      if (hasDotSegment(ctx.req.url ?? '/')) {
        // URL parsing would resolve `..` and route `/v2/a/../b` to `b`: refuse such paths whole.
        throw new RegistryError('NAME_INVALID', 'path contains . or .. segments');
      }
      const path = ctx.path;
      if (path === '/v2' || path.startsWith('/v2/')) {
        ctx.route = 'v2';
        ctx.identity = await access.authenticate(ctx);
        // zot's extension routes live under /v2/_zot/ (mgmt, search, userprefs) and
        // /v2/_oci/ (discover): plain routes.
        if (path.startsWith('/v2/_zot/') || path.startsWith('/v2/_oci/')) {
          for (const route of options.routes) {
            if (await route(ctx)) return;
          }
        }
        await handleV2(ctx, options.v2);
        return;
      }
      for (const route of options.routes) {
        if (await route(ctx)) return;
      }
      ctx.route = 'not-found';
      throw new RegistryError('NOT_FOUND', 'not found');
    } catch (err) {
      if (isClientGone(ctx, err)) {
        ctx.log.debug({ err }, 'client went away');
        if (!ctx.res.writableEnded) ctx.res.destroy();
        return;
      }
      const headers = err instanceof RegistryError ? access.challengeHeaders(ctx, err) : {};
      sendError(ctx, err, headers);
    }
  };

  /** When the answer went out (or the connection died): pipelining bookkeeping, access line, metrics. */
  const finish = (ctx: HttpRequest, socket: Socket, connection: ConnectionState, started: number): void => {
    const { req, res } = ctx;
    connection.requests.delete(req);
    if (connection.requests.size === 0 && connection.waiters.length > 0) {
      for (const waiter of connection.waiters.splice(0)) waiter();
    }
    const durationSeconds = (performance.now() - started) / 1e3;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    // Counted from where the connection's previous request ended: by the time a request's
    // callback runs, its headers (and often a small body) have already been read.
    const bytesIn = read - connection.read;
    const bytesOut = written - connection.written;
    connection.read = read;
    connection.written = written;
    const status = res.writableFinished ? res.statusCode : 499;
    const user = ctx.identity.username;
    // The access line at `info`; below that level nothing is built for it.
    if (log.isLevelEnabled('info')) {
      log.info(
        {
          reqId: ctx.id,
          method: req.method ?? '',
          path: ctx.path,
          route: ctx.route,
          repo: ctx.repo,
          user: user ? loggableUserName(user) : undefined,
          status,
          bytesIn,
          bytesOut,
          ms: Math.round(durationSeconds * 1e4) / 10,
        },
        'request',
      );
    }
    const onRequestEnd = options.onRequestEnd;
    if (onRequestEnd === undefined) return;
    const forwarded = req.headers['x-forwarded-for'];
    const digest = res.getHeader('docker-content-digest');
    onRequestEnd({
      method: req.method ?? '',
      path: ctx.path,
      route: ctx.route,
      repo: ctx.repo,
      user,
      requestId: ctx.id,
      remoteAddress: socket.remoteAddress,
      forwardedFor: Array.isArray(forwarded) ? forwarded.join(', ') : forwarded,
      digest: typeof digest === 'string' ? digest : undefined,
      status,
      durationSeconds,
      bytesIn,
      bytesOut,
    });
  };

  const server = (options.tls === undefined ? createServer : createTlsServer(options.tls, log))(
    {
      // Large layer pushes can take long: no whole-request deadline, only idle timeouts (below).
      requestTimeout: 0,
      headersTimeout: 60_000,
      keepAliveTimeout: 65_000,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const started = performance.now();
      const given = req.headers['x-request-id'];
      const id =
        typeof given === 'string' && REQUEST_ID.test(given) ? given : `${prefix}-${(++counter).toString(36)}`;
      res.setHeader('X-Request-Id', id);
      const ctx = new HttpRequest(req, res, id, log, trusted);
      // Kept here: by the time the answer closes, Node may have detached the socket from `req`.
      const socket = req.socket;
      const connection = connectionOf(socket);
      connection.requests.add(req);
      res.on('close', () => finish(ctx, socket, connection, started));
      void handle(ctx);
    },
  );
  // Malformed HTTP (a body shorter than its Content-Length, then a half-close; bad headers; junk
  // pipelined after a valid request): answer with the spec's envelope rather than Node's bare 400,
  // when the socket can still take it, and only after every earlier answer on this connection
  // went out, so that junk never cuts or replaces a valid request's answer.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    afterPendingAnswers(socket, () => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      socket.end(malformedRequestAnswer(err.code));
    });
  });
  server.setTimeout(options.idleTimeoutMs ?? 120_000, (socket) => socket.destroy());
  return server;
}

/**
 * Runs `then` once every answer in progress on the socket has gone out. When a request on it is
 * still receiving its body, the parse error is that request's own (a truncated body): no wait.
 */
function afterPendingAnswers(socket: Socket, then: () => void): void {
  const pending = connections.get(socket);
  if (!pending || pending.requests.size === 0 || [...pending.requests].some((req) => !req.complete)) {
    then();
    return;
  }
  pending.waiters.push(then);
}

/** Whether a raw request path has a `.` or `..` segment, percent-encoded or not. */
export function hasDotSegment(rawUrl: string): boolean {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  // Most paths hold neither a dot nor a percent sign: nothing to split.
  if (!path.includes('.') && !path.includes('%')) return false;
  return path.split('/').some((segment) => {
    const s = segment.replace(/%2e/gi, '.');
    return s === '.' || s === '..';
  });
}

/** A client that hung up mid-request: nothing to answer, and not our failure. */
function isClientGone(ctx: RequestContext, err: unknown): boolean {
  if (ctx.res.destroyed || ctx.req.destroyed) {
    const code = (err as { code?: string } | undefined)?.code;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE') return true;
    if (err instanceof RegistryError && err.code === 'BLOB_UPLOAD_INVALID' && ctx.req.destroyed) return true;
    if (ctx.res.headersSent) return true;
  }
  return false;
}
