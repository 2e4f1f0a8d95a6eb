/** Writing responses: the only place that knows how a status, headers and body go out. */
import type { OutgoingHttpHeaders } from 'node:http';
import { errorBody, RegistryError, type ErrorCode } from '../oci/errors.js';
import { isStorageFull } from '../storage/errors.js';
import type { RequestContext } from './context.js';

export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

/**
 * The status each error code is answered with: the one table of them. The spec's codes take the
 * spec's statuses; Berth's finer codes take the status the spec (or RFC 9110) asks for their case.
 */
const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNKNOWN: 500,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  // The spec: a chunk out of order answers 416.
  RANGE_NOT_SATISFIABLE: 416,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_LARGE: 413,
  // The spec allows 414 for more tags than the registry takes in one push.
  TOO_MANY_TAGS: 414,
  // Distribution and zot answer a delete of referenced content with 405 (the operation is refused
  // for this resource, not for this caller).
  REFERENCED: 405,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  UNAVAILABLE: 503,
  STORAGE_FULL: 507,
});

/** The HTTP status for an error code. */
export function statusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

export function sendJson(
  ctx: RequestContext,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  // A string body is appended to the header block and goes out in one write; a Buffer would be
  // a second buffer of a writev, which on loopback costs as much as the rest of a listing page.
  const json = JSON.stringify(body);
  ctx.res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    ...headers,
  });
  if (ctx.req.method === 'HEAD') ctx.res.end();
  else ctx.res.end(json, 'utf8');
}

export function sendEmpty(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders = {}): void {
  ctx.res.writeHead(status, { 'Content-Length': 0, ...headers });
  ctx.res.end();
}

/** Bodies up to this size go out in one write with the headers (see sendBytes). */
const ONE_WRITE_BYTES = 64 * 1024;

export function sendBytes(
  ctx: RequestContext,
  status: number,
  data: Buffer,
  headers: OutgoingHttpHeaders,
): void {
  ctx.res.writeHead(status, { 'Content-Length': data.length, ...headers });
  if (ctx.req.method === 'HEAD') ctx.res.end();
  // Node sends a Buffer body as a second buffer after the header block (a writev), but appends a
  // string body to the header block: one write. latin1 maps each byte to one character and back,
  // so the bytes sent are exactly the manifest's.
  else if (data.length <= ONE_WRITE_BYTES) ctx.res.end(data.toString('latin1'), 'latin1');
  else ctx.res.end(data);
}

/**
 * Answers with the spec's error envelope. Anything that is not a RegistryError is ours, never the
 * client's: it becomes UNKNOWN (500), logged with the request id, and its message stays private.
 */
export function sendError(ctx: RequestContext, err: unknown, headers: OutgoingHttpHeaders = {}): void {
  const error =
    err instanceof RegistryError
      ? err
      : isStorageFull(err)
        ? new RegistryError('STORAGE_FULL', undefined, { cause: err })
        : new RegistryError('UNKNOWN', `internal error (request ${ctx.id})`);
  // Failures that are ours are logged as errors; a full disk is one (the operator must act).
  if (!(err instanceof RegistryError) || statusOf(error.code) >= 500)
    ctx.log.error({ err, code: error.code }, 'request failed');
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  const write = (): void => {
    if (ctx.res.headersSent || ctx.res.destroyed) return;
    const retryAfter = error.code === 'TOOMANYREQUESTS' ? { 'Retry-After': '1' } : {};
    // An unread request body must not be mistaken for the next request on this connection.
    const close = ctx.req.complete ? {} : { Connection: 'close' };
    sendJson(ctx, statusOf(error.code), JSON.parse(errorBody([error])), {
      ...retryAfter,
      ...close,
      ...headers,
    });
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
        : [
            400,
            'Bad Request',
            new RegistryError('SIZE_INVALID', `malformed HTTP request (${parserCode ?? 'parse error'})`),
          ];
  const body = errorBody([error]);
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
