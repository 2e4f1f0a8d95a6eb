/** Writing responses: the only place that knows how a status, headers and body go out. */
import type { OutgoingHttpHeaders } from 'node:http';
import { errorBody, RegistryError } from '../oci/errors.js';
import type { RequestContext } from './context.js';

export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

export function sendJson(ctx: RequestContext, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  ctx.res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': data.length,
    ...headers,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : data);
}

export function sendEmpty(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders = {}): void {
  ctx.res.writeHead(status, { 'Content-Length': 0, ...headers });
  ctx.res.end();
}

export function sendBytes(ctx: RequestContext, status: number, data: Buffer, headers: OutgoingHttpHeaders): void {
  ctx.res.writeHead(status, { 'Content-Length': data.length, ...headers });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : data);
}

/**
 * Answers with the spec's error envelope. Anything that is not a RegistryError is ours, never the
 * client's: it becomes UNKNOWN (500), logged with the request id, and its message stays private.
 */
export function sendError(ctx: RequestContext, err: unknown, headers: OutgoingHttpHeaders = {}): void {
  const error =
    err instanceof RegistryError ? err : new RegistryError('UNKNOWN', `internal error (request ${ctx.id})`);
  if (!(err instanceof RegistryError)) ctx.log.error({ err }, 'request failed');
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  const write = (): void => {
    if (ctx.res.headersSent || ctx.res.destroyed) return;
    const retryAfter = error.code === 'TOOMANYREQUESTS' ? { 'Retry-After': '1' } : {};
    // An unread request body must not be mistaken for the next request on this connection.
    const close = ctx.req.complete ? {} : { Connection: 'close' };
    sendJson(ctx, error.status, JSON.parse(errorBody([error])), { ...retryAfter, ...close, ...headers });
  };
  if (ctx.req.complete || ctx.req.destroyed) write();
  else drainThen(ctx, write);
}

/** Bytes of an unread body Berth reads and discards so that its error answer reaches the client. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

/**
 * Reads and discards what is left of the request body before answering. Closing a socket with
 * unread bytes makes the kernel reset the connection, and the client may lose the answer (a 413
 * for an oversized manifest, say). Bounded in bytes and time; past that, the answer goes anyway.
 */
function drainThen(ctx: RequestContext, done: () => void): void {
  const req = ctx.req;
  let bytes = 0;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    req.off('data', onData);
    done();
  };
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > MAX_DRAIN_BYTES) finish();
  };
  const timer = setTimeout(finish, 2_000);
  req.on('data', onData);
  req.once('end', finish);
  req.once('error', finish);
  req.once('close', finish);
  req.resume();
}

/**
 * The raw answer to a request Node's HTTP parser refused (no request object exists): a header
 * timeout is 408, headers past the size limit 431, anything else 400 — most often a body that
 * ended before its Content-Length, the spec's SIZE_INVALID. Always closes the connection.
 */
export function malformedRequestAnswer(parserCode: string | undefined): string {
  const [status, reason, error] =
    parserCode === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', new RegistryError('UNKNOWN', 'request headers not received in time')]
      : parserCode === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', new RegistryError('UNKNOWN', 'request headers too large')]
        : [400, 'Bad Request', new RegistryError('SIZE_INVALID', `malformed HTTP request (${parserCode ?? 'parse error'})`)];
  const body = errorBody([error]);
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
