/**
 * The HTTP server: one request context per request, authentication for `/v2` (then the router's
 * authorization pre-handler), dispatch, errors as the spec's envelope with the challenge a refusal
 * carries, and one access-log line per request. Routes outside `/v2` (health,
 * metrics, auth, UI) are plain handlers registered by the app, each deciding its own access.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ANONYMOUS } from '../auth/identity.js';
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

/** Bytes each connection had read and written when its last request ended. */
const connectionMarks = new WeakMap<Socket, { read: number; written: number }>();

export function createHttpServer(options: HttpServerOptions): Server {
  const { log, access } = options;
  let counter = 0;
  const prefix = Math.random().toString(36).slice(2, 8);

  const rateLimited = createRateLimiter(options.rateLimit, options.throttles);
  const trusted = options.trustedProxies?.length ? trustedProxyList(options.trustedProxies) : undefined;
  const handle = async (ctx: RequestContext): Promise<void> => {
    try {
      if (rateLimited && (await rateLimited(ctx.req.method ?? 'GET')) > 0) {
        throw new RegistryError('TOOMANYREQUESTS', 'rate limit exceeded');
      }
      if (hasDotSegment(ctx.req.url ?? '/')) {
        // URL parsing would resolve `..` and route `/v2/a/../b` to `b`: refuse such paths whole.
        throw new RegistryError('NAME_INVALID', 'path contains . or .. segments');
      }
      if (ctx.url.pathname === '/v2' || ctx.url.pathname.startsWith('/v2/')) {
        ctx.route = 'v2';
        ctx.identity = await access.authenticate(ctx);
        // zot's extension routes live under /v2/_zot/ (mgmt, search, userprefs) and
        // /v2/_oci/ (discover): plain routes.
        if (ctx.url.pathname.startsWith('/v2/_zot/') || ctx.url.pathname.startsWith('/v2/_oci/')) {
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

  const server = (options.tls === undefined ? createServer : createTlsServer(options.tls, log))(
    {
      // Large layer pushes can take long: no whole-request deadline, only idle timeouts (below).
      requestTimeout: 0,
      headersTimeout: 60_000,
      keepAliveTimeout: 65_000,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const started = process.hrtime.bigint();
      const given = req.headers['x-request-id'];
      const id =
        typeof given === 'string' && REQUEST_ID.test(given) ? given : `${prefix}-${(++counter).toString(36)}`;
      res.setHeader('X-Request-Id', id);
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://registry.invalid');
      } catch {
        url = new URL('http://registry.invalid/');
      }
      // The request's child logger is made on first use: most requests log only their access line,
      // which is written below without one (a child per request was a measurable cost of hot GETs).
      let child: Logger | undefined;
      const ctx: RequestContext = {
        req,
        res,
        url,
        id,
        get log(): Logger {
          return (child ??= log.child({ reqId: id }));
        },
        identity: ANONYMOUS,
        route: 'unknown',
        clientAddress: resolveClientAddress(req, trusted),
      };
      const socket = req.socket;
      trackAnswer(socket, req, res);
      // Counted from where the connection's previous request ended: by the time this callback runs,
      // the headers (and often a small body) have already been read.
      const { read: bytesInAtStart, written: bytesOutAtStart } = connectionMarks.get(socket) ?? {
        read: 0,
        written: 0,
      };
      res.once('close', () => {
        const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        const forwarded = req.headers['x-forwarded-for'];
        const digest = res.getHeader('docker-content-digest');
        connectionMarks.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
        const record: RequestRecord = {
          method: req.method ?? '',
          path: url.pathname,
          route: ctx.route,
          repo: ctx.repo,
          user: ctx.identity.username,
          requestId: id,
          remoteAddress: socket.remoteAddress,
          forwardedFor: Array.isArray(forwarded) ? forwarded.join(', ') : forwarded,
          digest: typeof digest === 'string' ? digest : undefined,
          status: res.writableFinished ? res.statusCode : 499,
          durationSeconds,
          bytesIn: socket.bytesRead - bytesInAtStart,
          bytesOut: socket.bytesWritten - bytesOutAtStart,
        };
        log.info(
          {
            reqId: id,
            method: record.method,
            path: url.pathname,
            route: record.route,
            repo: record.repo,
            user: ctx.identity.username ? loggableUserName(ctx.identity.username) : undefined,
            status: record.status,
            bytesIn: record.bytesIn,
            bytesOut: record.bytesOut,
            ms: Math.round(durationSeconds * 1e4) / 10,
          },
          'request',
        );
        options.onRequestEnd?.(record);
      });
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

/** Requests on each connection whose answers are still being written (pipelining queues them). */
const pendingAnswers = new WeakMap<Socket, { requests: Set<IncomingMessage>; waiters: (() => void)[] }>();

function trackAnswer(socket: Socket, req: IncomingMessage, res: ServerResponse): void {
  let pending = pendingAnswers.get(socket);
  if (!pending) {
    pending = { requests: new Set(), waiters: [] };
    pendingAnswers.set(socket, pending);
  }
  const state = pending;
  state.requests.add(req);
  res.once('close', () => {
    state.requests.delete(req);
    if (state.requests.size > 0) return;
    for (const waiter of state.waiters.splice(0)) waiter();
  });
}

/**
 * Runs `then` once every answer in progress on the socket has gone out. When a request on it is
 * still receiving its body, the parse error is that request's own (a truncated body): no wait.
 */
function afterPendingAnswers(socket: Socket, then: () => void): void {
  const pending = pendingAnswers.get(socket);
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
