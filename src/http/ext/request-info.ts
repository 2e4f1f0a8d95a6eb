/** Facts about a request that authentication needs: client address, origin, the web UI's header. */
import { isIP } from 'node:net';
import type { RequestContext } from '../context.js';

/** zot's marker of its web UI's requests; the session cookie counts only together with it. */
export const UI_CLIENT_HEADER = 'x-zot-api-client';

export function isUiClient(ctx: RequestContext): boolean {
  return ctx.req.headers[UI_CLIENT_HEADER] === 'zot-ui';
}

function isPrivateAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  const lower = address.toLowerCase();
  return lower === '::1' || lower.startsWith('fc') || lower.startsWith('fd');
}

/**
 * The address failed-authentication throttling keys on. When the peer is a loopback or private
 * address (a reverse proxy on the same machine or network, as in our first user's set-up), the
 * right-most `X-Forwarded-For` entry is used: the one the nearest proxy appended, which the client
 * cannot forge through that proxy. Otherwise the peer address itself.
 */
export function clientAddress(ctx: RequestContext): string {
  const peer = ctx.req.socket.remoteAddress ?? 'unknown';
  if (!isPrivateAddress(peer)) return peer;
  const header = ctx.req.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined) return peer;
  const last = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .pop();
  return last !== undefined && isIP(last) !== 0 ? last : peer;
}

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The registry's public base URL, without a trailing slash: `http.externalUrl` when configured (the
 * address clients use through the proxy), else the request's own `Host`, over HTTPS when the connection is TLS.
 */
export function publicBaseUrl(ctx: RequestContext, externalUrl: string | undefined): string {
  if (externalUrl !== undefined) return externalUrl;
  const host = ctx.req.headers.host;
  const scheme = (ctx.req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  return `${scheme}://${host !== undefined && HOST.test(host) ? host : 'localhost'}`;
}

/**
 * Whether a state-changing request comes from a page of this site. Browsers send `Sec-Fetch-Site`
 * and `Origin` on such requests; a request that has neither is not a browser's cross-site request
 * (CLI tools, or old browsers doing a same-origin request).
 */
export function isSameSiteRequest(ctx: RequestContext, externalUrl: string | undefined): boolean {
  const site = ctx.req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = ctx.req.headers.origin;
  if (origin === undefined) return true;
  const own = new Set<string>();
  if (externalUrl !== undefined) own.add(new URL(externalUrl).origin);
  const host = ctx.req.headers.host;
  if (host !== undefined && HOST.test(host)) {
    own.add(`http://${host}`);
    own.add(`https://${host}`);
  }
  return own.has(origin);
}

/** Whether the client would rather read a page than JSON (a browser navigating). */
export function wantsHtml(ctx: RequestContext): boolean {
  return (ctx.req.headers.accept ?? '').includes('text/html');
}
