/**
 * Blob uploads: `POST /v2/<name>/blobs/uploads/` (session, monolithic `?digest=`, `?mount=&from=`),
 * and `PATCH`/`PUT`/`GET`/`DELETE` on the session's location.
 */
import { isSupportedAlgorithm, parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { assertRepositoryName } from '../../oci/names.js';
import type { ChunkOptions } from '../../registry/uploads.js';
import { contentLength } from '../body.js';
import { MOUNT_SOURCE_ACTION } from '../../auth/authz/routes.js';
import type { RouteAuthorization } from '../authorize.js';
import type { RequestContext } from '../context.js';
import { parseContentRange } from '../range.js';
import { sendEmpty, sendError } from '../respond.js';
import { blobLocation, uploadLocation, uploadRange, type V2Deps } from './deps.js';

function chunkOptions(ctx: RequestContext): ChunkOptions {
  const range = parseContentRange(ctx.req.headers['content-range']);
  if (range === 'invalid') {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'Content-Range must be <start>-<end>');
  }
  const length = contentLength(ctx.req);
  return { ...(range ? { range } : {}), ...(length === undefined ? {} : { contentLength: length }) };
}

function created(ctx: RequestContext, name: string, digest: string): void {
  sendEmpty(ctx, 201, { Location: blobLocation(name, digest), 'Docker-Content-Digest': digest });
}

function accepted(ctx: RequestContext, name: string, id: string, offset: number, status = 202): void {
  sendEmpty(ctx, status, {
    Location: uploadLocation(name, id),
    Range: uploadRange(offset),
    'Docker-Upload-UUID': id,
  });
}

export async function startUpload(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  authorization: RouteAuthorization,
): Promise<void> {
  const query = ctx.url.searchParams;
  const mount = query.get('mount');
  const from = query.get('from');
  if (mount !== null) {
    const digest = parseDigest(mount);
    // A malformed source is the client's error, not a reason to fall back to an upload.
    if (from !== null) assertRepositoryName(from);
    // A mount the caller may not read from, or that fails, falls back to a plain session (spec: 202).
    if (from !== null && authorization.permits(MOUNT_SOURCE_ACTION, from)) {
      const mounted = await deps.registry.blobs.mount(from, name, digest);
      if (mounted) {
        created(ctx, name, mounted.digest);
        return;
      }
    }
  }
  const digestParam = query.get('digest');
  if (digestParam !== null) {
    const digest = parseDigest(digestParam);
    const length = contentLength(ctx.req);
    const info = await deps.registry.uploads.monolithic(name, digest, ctx.req, length);
    created(ctx, name, info.digest);
    return;
  }
  const algorithmParam = query.get('digest-algorithm') ?? 'sha256';
  if (!isSupportedAlgorithm(algorithmParam)) {
    throw new RegistryError(
      'DIGEST_INVALID',
      `unsupported digest algorithm ${JSON.stringify(algorithmParam)}`,
    );
  }
  const length = contentLength(ctx.req);
  if (length !== undefined && length > 0) {
    // A body without ?digest= cannot be verified; accept it as the session's first chunk.
    const id = await deps.registry.uploads.start(name, algorithmParam);
    const offset = await deps.registry.uploads.append(name, id, ctx.req, { contentLength: length });
    accepted(ctx, name, id, offset);
    return;
  }
  const id = await deps.registry.uploads.start(name, algorithmParam);
  accepted(ctx, name, id, 0);
}

export async function patchUpload(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  id: string,
): Promise<void> {
  try {
    const offset = await deps.registry.uploads.append(name, id, ctx.req, chunkOptions(ctx));
    accepted(ctx, name, id, offset);
  } catch (err) {
    if (!(err instanceof RegistryError && err.code === 'RANGE_NOT_SATISFIABLE')) throw err;
    // Tell the client where the session stands so it can resume from there.
    const offset = await deps.registry.uploads.offset(name, id);
    sendError(ctx, err, {
      Location: uploadLocation(name, id),
      Range: uploadRange(offset),
      'Docker-Upload-UUID': id,
    });
  }
}

export async function putUpload(ctx: RequestContext, deps: V2Deps, name: string, id: string): Promise<void> {
  const digestParam = ctx.url.searchParams.get('digest');
  if (digestParam === null) {
    throw new RegistryError('DIGEST_INVALID', 'the closing PUT needs ?digest=');
  }
  const digest = parseDigest(digestParam);
  const options = chunkOptions(ctx);
  const hasBody = (options.contentLength ?? 0) > 0 || ctx.req.headers['transfer-encoding'] !== undefined;
  const info = await deps.registry.uploads.complete(name, id, digest, hasBody ? ctx.req : undefined, options);
  created(ctx, name, info.digest);
}

export async function uploadStatus(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  id: string,
): Promise<void> {
  const offset = await deps.registry.uploads.offset(name, id);
  accepted(ctx, name, id, offset, 204);
}

export async function cancelUpload(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  id: string,
): Promise<void> {
  await deps.registry.uploads.cancel(name, id);
  sendEmpty(ctx, 204);
}
