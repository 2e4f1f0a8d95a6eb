/**
 * Dispatches `/v2/*` requests: parses the path, runs the authorization pre-handler once (the route
 * table decides; handlers never ask the policy themselves), then the resource handler by method.
 */
import { RegistryError } from '../../oci/errors.js';
import { authorizeRoute } from '../authorize.js';
import type { RequestContext } from '../context.js';
import { API_VERSION_HEADER, sendJson } from '../respond.js';
import { deleteBlob, getBlob } from './blobs.js';
import type { V2Deps } from './deps.js';
import { catalog, listTags, referrers } from './listings.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { parseV2Path } from './paths.js';
import { cancelUpload, patchUpload, putUpload, startUpload, uploadStatus } from './uploads.js';

type Handler = () => Promise<void>;

function unsupported(ctx: RequestContext): never {
  throw new RegistryError('UNSUPPORTED', `${ctx.req.method} is not supported on ${ctx.route}`);
}

function byMethod(ctx: RequestContext, handlers: Partial<Record<string, Handler>>): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  const handler = handlers[method] ?? (method === 'HEAD' ? handlers.GET : undefined);
  if (!handler) unsupported(ctx);
  return handler();
}

async function ping(ctx: RequestContext): Promise<void> {
  sendJson(ctx, 200, {});
}

export async function handleV2(ctx: RequestContext, deps: V2Deps): Promise<void> {
  for (const [k, v] of Object.entries(API_VERSION_HEADER)) ctx.res.setHeader(k, v);
  const path = parseV2Path(ctx.path);
  if (!path) throw new RegistryError('NOT_FOUND', `no such endpoint: ${ctx.path.slice(0, 200)}`);
  ctx.route = path.kind;
  if ('name' in path) ctx.repo = path.name;
  const authorization = authorizeRoute(ctx, deps.access, path);
  switch (path.kind) {
    case 'base':
      return byMethod(ctx, { GET: () => ping(ctx) });
    case 'catalog':
      return byMethod(ctx, { GET: () => catalog(ctx, deps, authorization) });
    case 'tags':
      return byMethod(ctx, { GET: () => listTags(ctx, deps, path.name) });
    case 'manifest':
      return byMethod(ctx, {
        GET: () => getManifest(ctx, deps, path.name, path.reference),
        PUT: () => putManifest(ctx, deps, path.name, path.reference, authorization),
        DELETE: () => deleteManifest(ctx, deps, path.name, path.reference),
      });
    case 'blob':
      return byMethod(ctx, {
        GET: () => getBlob(ctx, deps, path.name, path.digest),
        DELETE: () => deleteBlob(ctx, deps, path.name, path.digest),
      });
    case 'uploads':
      return byMethod(ctx, { POST: () => startUpload(ctx, deps, path.name, authorization) });
    case 'upload':
      return byMethod(ctx, {
        GET: () => uploadStatus(ctx, deps, path.name, path.id),
        PATCH: () => patchUpload(ctx, deps, path.name, path.id),
        PUT: () => putUpload(ctx, deps, path.name, path.id),
        DELETE: () => cancelUpload(ctx, deps, path.name, path.id),
      });
    case 'referrers':
      return byMethod(ctx, { GET: () => referrers(ctx, deps, path.name, path.digest) });
  }
}
