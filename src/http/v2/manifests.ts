/** `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>` */
import { manifestWriteAction } from '../../auth/authz/manifest-write.js';
import { digestOf } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { MAX_MANIFEST_BYTES } from '../../oci/manifest.js';
import { parseReference } from '../../registry/manifests.js';
import { readSmallBody } from '../body.js';
import type { RouteAuthorization } from '../authorize.js';
import type { RequestContext } from '../context.js';
import { sendBytes, sendEmpty } from '../respond.js';
import { manifestLocation, type V2Deps } from './deps.js';

/** More `?tag=` values than this get 414, as the spec allows (it asks for at least 10). */
const MAX_TAGS_PER_PUSH = 100;

export async function getManifest(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  reference: string,
): Promise<void> {
  const ref = parseReference(reference);
  if (deps.pullThrough) await deps.pullThrough.ensureManifest(ctx, name, reference);
  const manifests = deps.registry.manifests;
  const found = await manifests.require(name, ref);
  const headers = {
    'Content-Type': found.mediaType,
    'Docker-Content-Digest': found.digest,
    ETag: `"${found.digest}"`,
  };
  if (ctx.req.method === 'HEAD') {
    ctx.res.writeHead(200, { ...headers, 'Content-Length': found.size });
    ctx.res.end();
    return;
  }
  sendBytes(ctx, 200, await manifests.read(name, found), headers);
  deps.registry.events.emit('manifest-pulled', { repo: name, digest: found.digest, reference });
}

export async function putManifest(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  reference: string,
  authorization: RouteAuthorization,
): Promise<void> {
  const ref = parseReference(reference);
  const extraTags = ctx.url.searchParams.getAll('tag');
  if (extraTags.length > MAX_TAGS_PER_PUSH) {
    throw new RegistryError('TOO_MANY_TAGS', `at most ${MAX_TAGS_PER_PUSH} tags per push`);
  }
  if (ref.kind === 'tag' && extraTags.length > 0) {
    throw new RegistryError('MANIFEST_INVALID', '?tag= is only allowed when pushing by digest');
  }
  // `create` was required before the body was read (the pre-handler, route table `manifest-write`).
  // Under a pull-through destination (`docker.io/...`) a push would pose as upstream content that
  // nodes pull and that is served while the upstream is down: it needs `update`, not just `create`.
  if (deps.pullThrough?.covers(name) === true) authorization.require('update');
  const data = await readSmallBody(ctx.req, MAX_MANIFEST_BYTES);
  const newDigest = digestOf(data, ref.kind === 'digest' ? ref.digest.algorithm : 'sha256');
  // Moving an existing tag to other content needs `update`; re-pushing the same digest does not.
  // Decided under the repository lock, so two racing pushes of a new tag cannot both pass as `create`.
  const authorizeTag = (_tag: string, currentDigest: string | undefined): void =>
    authorization.require(manifestWriteAction({ kind: 'tag', currentDigest }, newDigest));
  const result = await deps.registry.manifests.put(
    name,
    ref,
    data,
    ctx.req.headers['content-type'] ?? '',
    extraTags,
    {
      authorizeTag,
    },
  );
  const headers: Record<string, string | string[]> = {
    Location: manifestLocation(name, result.digest),
    'Docker-Content-Digest': result.digest,
  };
  if (result.subject) headers['OCI-Subject'] = result.subject;
  if (ref.kind === 'digest' && result.tags.length > 0) headers['OCI-Tag'] = result.tags.join(', ');
  sendEmpty(ctx, 201, headers);
}

export async function deleteManifest(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  reference: string,
): Promise<void> {
  const ref = parseReference(reference);
  await deps.registry.manifests.delete(name, ref);
  sendEmpty(ctx, 202);
}
