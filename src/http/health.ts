/**
 * zot's health endpoints, unauthenticated: `/livez` (the process answers), `/readyz` (storage is
 * writable and the database answers), `/startupz` (start-up work finished).
 */
import type { RequestContext } from './context.js';
import type { PlainRoute } from './server.js';

export interface HealthChecks {
  started(): boolean;
  ready(): Promise<boolean>;
}

function answer(ctx: RequestContext, ok: boolean): void {
  const body = ok ? 'ok' : 'internal server error: not ready yet';
  ctx.res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

export function healthRoutes(checks: HealthChecks): PlainRoute {
  return async (ctx) => {
    const path = ctx.url.pathname;
    if (path !== '/livez' && path !== '/readyz' && path !== '/startupz') return false;
    ctx.route = path.slice(1);
    if (path === '/livez') answer(ctx, true);
    else if (path === '/startupz') answer(ctx, checks.started());
    else answer(ctx, checks.started() && (await checks.ready().catch(() => false)));
    return true;
  };
}
