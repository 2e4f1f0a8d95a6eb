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
  const retryAfter = error.code === 'TOOMANYREQUESTS' ? { 'Retry-After': '1' } : {};
  // An unread request body must not be mistaken for the next request on this connection.
  const close = ctx.req.complete ? {} : { Connection: 'close' };
  sendJson(ctx, error.status, JSON.parse(errorBody([error])), { ...retryAfter, ...close, ...headers });
}
