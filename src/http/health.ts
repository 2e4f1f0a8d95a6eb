/**
 * zot's health endpoints, unauthenticated: `/livez` (the process answers), `/readyz` (storage is
 * writable and the database answers), `/startupz` (start-up work finished).
 */
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { MetadataStore } from '../meta/store.js';
import type { RequestContext } from './context.js';
import type { PlainRoute } from './server.js';
import { isStorageFull } from '../storage/errors.js';

/** Why `/readyz` is not ready, shown in its body; the generic reason is zot's wording. */
const NOT_READY = 'not ready yet';
const STORAGE_FULL = 'not ready: storage full';

export interface HealthChecks {
  started(): boolean;
  /** True when ready, else why not (a short phrase for the body). */
  ready(): Promise<true | string>;
}

function answer(ctx: RequestContext, ok: boolean, reason = NOT_READY): void {
  const body = ok ? 'ok' : `internal server error: ${reason}`;
  ctx.res.writeHead(ok ? 200 : 500, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

export function healthRoutes(checks: HealthChecks): PlainRoute {
  return async (ctx) => {
    const path = ctx.path;
    if (path !== '/livez' && path !== '/readyz' && path !== '/startupz') return false;
    ctx.route = path.slice(1);
    if (path === '/livez') answer(ctx, true);
    else if (path === '/startupz') answer(ctx, checks.started());
    else if (!checks.started()) answer(ctx, false);
    else {
      const ready = await checks.ready().catch(() => NOT_READY);
      answer(ctx, ready === true, ready === true ? undefined : ready);
    }
    return true;
  };
}

/**
 * The readiness test: a file can be created, written and removed in `probeDir` (on the storage
 * root's filesystem), and the database answers a query. Permission bits say nothing when Berth
 * runs as root, and a full or read-only filesystem only shows when something is written, so the
 * probe writes. A full disk (ENOSPC, SQLITE_FULL) is reported as such. Concurrent probes share one
 * attempt.
 */
export function readinessCheck(
  probeDir: string,
  meta: Pick<MetadataStore, 'ping'>,
): () => Promise<true | string> {
  const probeFile = path.join(probeDir, `.readyz-${process.pid}`);
  let running: Promise<true | string> | undefined;
  const probe = async (): Promise<true | string> => {
    await meta.ping();
    const fh = await open(probeFile, 'w');
    try {
      await fh.writeFile('ok');
    } finally {
      await fh.close();
    }
    await unlink(probeFile);
    return true;
  };
  return () => {
    running ??= probe()
      .catch(async (err: unknown) => {
        await unlink(probeFile).catch(() => undefined);
        return isStorageFull(err) ? STORAGE_FULL : NOT_READY;
      })
      .finally(() => (running = undefined));
    return running;
  };
}
