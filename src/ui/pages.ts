/**
 * The UI's pages and files. Every page is the same `index.html` (the browser-side router picks the
 * view), served at zot's UI paths so that bookmarks of zot's UI keep working: `/login`, `/home`,
 * `/explore`, `/image/<repository>[/tag/<tag>]`, `/user/apikey`.
 */
import type { RequestContext } from '../http/context.js';
import type { PlainRoute } from '../http/server.js';
import type { Asset, StaticAssets } from './assets.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** First path segments that belong to the UI's pages (zot's, plus none of Berth's own). */
const PAGE_ROOTS = new Set(['login', 'home', 'explore', 'image', 'user']);

/** Whether a request path is one of the UI's pages. */
export function isPagePath(pathname: string): boolean {
  const first = pathname.split('/')[1] ?? '';
  return PAGE_ROOTS.has(first);
}

function accepts(ctx: RequestContext, encoding: string): boolean {
  const header = ctx.req.headers['accept-encoding'];
  return (
    typeof header === 'string' && header.split(',').some((part) => part.trim().split(';')[0] === encoding)
  );
}

/** Sends an asset with validators and, when the client takes it, gzip. */
export function sendAsset(ctx: RequestContext, asset: Asset, cacheControl: string): void {
  const headers = {
    ...SECURITY_HEADERS,
    'Content-Type': asset.contentType,
    'Cache-Control': cacheControl,
    ETag: asset.etag,
    Vary: 'Accept-Encoding',
  };
  if (ctx.req.headers['if-none-match'] === asset.etag) {
    ctx.res.writeHead(304, headers);
    ctx.res.end();
    return;
  }
  const body = asset.gzip && accepts(ctx, 'gzip') ? asset.gzip : asset.body;
  ctx.res.writeHead(200, {
    ...headers,
    'Content-Length': body.length,
    ...(body === asset.gzip ? { 'Content-Encoding': 'gzip' } : {}),
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

/** Serves pages and static files; leaves every other path to the next route. */
export function pageRoutes(assets: StaticAssets): PlainRoute {
  return (ctx) => {
    const method = ctx.req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const pathname = ctx.url.pathname;
    const file = assets.lookup(pathname);
    if (file) {
      ctx.route = 'ui-static';
      sendAsset(ctx, file.asset, file.current ? 'public, max-age=31536000, immutable' : 'no-cache');
      return true;
    }
    if (pathname === '/') {
      ctx.route = 'ui-page';
      ctx.res.writeHead(302, { ...SECURITY_HEADERS, Location: '/home', 'Content-Length': 0 });
      ctx.res.end();
      return true;
    }
    if (!isPagePath(pathname)) return false;
    ctx.route = 'ui-page';
    sendAsset(ctx, assets.page, 'no-cache');
    return true;
  };
}
