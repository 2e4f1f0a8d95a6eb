/** Facts about a request that authentication needs: client address, origin, the web UI's header. */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { RequestContext } from '../context.js';

/** zot's marker of its web UI's requests; the session cookie counts only together with it. */
export const UI_CLIENT_HEADER = 'x-zot-api-client';

export function isUiClient(ctx: RequestContext): boolean {
  return ctx.req.headers[UI_CLIENT_HEADER] === 'zot-ui';
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as plain IPv4. */
function plainAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/**
 * `http.trustedProxies` compiled: addresses (`127.0.0.1`, `::1`) and CIDR ranges (`10.0.0.0/8`).
 * Throws on an entry that is neither (the config schema checks them first).
 */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`not an IP address or CIDR range: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The hops a `Forwarded` header lists (`for=` of each element, RFC 7239), oldest first. */
function forwardedFor(value: string): string[] {
  return value.split(',').map((element) => {
    const param = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.toLowerCase().startsWith('for='));
    let node = (param ?? '').slice(4).replace(/^"|"$/g, '');
    if (node.startsWith('[')) node = node.slice(1, node.indexOf(']'));
    else if (isIP(node) === 0 && node.includes(':') && node.indexOf(':') === node.lastIndexOf(':'))
      node = node.slice(0, node.indexOf(':'));
    return node;
  });
}

/**
 * The client's address, for throttling and logs. Forwarded headers are believed only when the
 * peer is a configured trusted proxy (`http.trustedProxies`; none by default): then the hops in
 * `X-Forwarded-For` (or else `Forwarded: for=`) are walked from the right, skipping trusted
 * proxies, and the first other address is the client — the one the nearest trusted proxy wrote,
 * which a client cannot forge through it. Anyone else's headers change nothing, so a host on the
 * LAN can neither dodge the per-address throttle nor lock another address out.
 */
export function resolveClientAddress(req: IncomingMessage, trusted: BlockList | undefined): string {
  const peer = plainAddress(req.socket.remoteAddress ?? 'unknown');
  if (trusted === undefined || !isTrusted(trusted, peer)) return peer;
  const xff = req.headers['x-forwarded-for'];
  const xffValue = Array.isArray(xff) ? xff.join(',') : xff;
  const forwarded = req.headers.forwarded;
  const hops =
    xffValue !== undefined
      ? xffValue.split(',').map((s) => s.trim())
      : forwarded !== undefined
        ? forwardedFor(forwarded)
        : [];
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]!);
    if (isIP(hop) === 0) break; // a hop we cannot read: trust nothing to its left
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}

/** The client address resolved for this request (see {@link resolveClientAddress}). */
export function clientAddress(ctx: RequestContext): string {
  return ctx.clientAddress ?? plainAddress(ctx.req.socket.remoteAddress ?? 'unknown');
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
