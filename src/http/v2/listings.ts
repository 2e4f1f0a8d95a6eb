/** `GET /v2/<name>/tags/list`, `GET /v2/_catalog` and `GET /v2/<name>/referrers/<digest>`. */
import { parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { MediaType } from '../../oci/media-types.js';
import { nextPageLink, parsePageRequest, MAX_PAGE_SIZE } from '../../oci/pagination.js';
import type { RouteAuthorization } from '../authorize.js';
import type { RequestContext } from '../context.js';
import { sendJson } from '../respond.js';
import type { V2Deps } from './deps.js';

export async function listTags(ctx: RequestContext, deps: V2Deps, name: string): Promise<void> {
  if (!(await deps.registry.manifests.repositoryExists(name))) {
    throw new RegistryError('NAME_UNKNOWN', `repository ${name} not known to registry`, { detail: { name } });
  }
  const page = parsePageRequest(ctx.url.searchParams);
  const limit = page.n ?? Number.MAX_SAFE_INTEGER;
  if (limit === 0) {
    sendJson(ctx, 200, { name, tags: [] });
    return;
  }
  // One extra row tells whether a next page exists without a count query.
  const rows = await deps.registry.tags(name, page.last ?? '', Math.min(limit, MAX_PAGE_SIZE * 100) + 1);
  const tags = rows.slice(0, limit);
  const headers =
    page.n !== undefined && rows.length > limit
      ? { Link: nextPageLink(`/v2/${name}/tags/list`, limit, tags[tags.length - 1]!) }
      : {};
  sendJson(ctx, 200, { name, tags }, headers);
}

/**
 * Lists what the caller may read by its policy (a token's scope does not narrow a listing, and the
 * anonymous caller's listing is the least anybody sees); pages count listed repositories only.
 */
export async function catalog(
  ctx: RequestContext,
  deps: V2Deps,
  authorization: RouteAuthorization,
): Promise<void> {
  const page = parsePageRequest(ctx.url.searchParams);
  const limit = page.n ?? Number.MAX_SAFE_INTEGER;
  const repositories: string[] = [];
  let after = page.last ?? '';
  let more = false;
  if (limit > 0) {
    // Enough rows for this page and the one that tells whether another follows; more only when
    // rows the caller may not read were filtered out.
    const batch = Math.min(1000, limit + 1);
    for (;;) {
      const rows = await deps.registry.catalog(after, batch);
      for (const repo of rows) {
        if (!authorization.lists(repo)) continue;
        if (repositories.length === limit) {
          more = true;
          break;
        }
        repositories.push(repo);
      }
      if (more || rows.length < batch) break;
      after = rows[rows.length - 1]!;
    }
  }
  const headers =
    more && page.n !== undefined
      ? { Link: nextPageLink('/v2/_catalog', limit, repositories[repositories.length - 1]!) }
      : {};
  sendJson(ctx, 200, { repositories }, headers);
}

export async function referrers(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  digestText: string,
): Promise<void> {
  const subject = parseDigest(digestText);
  const artifactType = ctx.url.searchParams.get('artifactType') ?? undefined;
  const manifests = await deps.registry.manifests.referrers(name, subject, artifactType);
  sendJson(
    ctx,
    200,
    { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests },
    {
      'Content-Type': MediaType.OciIndex,
      ...(artifactType !== undefined ? { 'OCI-Filters-Applied': 'artifactType' } : {}),
    },
  );
}
