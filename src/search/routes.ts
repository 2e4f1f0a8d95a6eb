/**
 * The search extension's HTTP endpoints, zot's paths and shapes:
 *
 * | route                                        | answers                                               |
 * |----------------------------------------------|-------------------------------------------------------|
 * | `GET /v2/_zot/ext/search?query=&variables=&operationName=` | GraphQL (`graphql.ts`)                  |
 * | `POST /v2/_zot/ext/search` `{query, variables, operationName}` | the same                            |
 * | `PUT /v2/_zot/ext/userprefs?action=toggleStar|toggleBookmark&repo=` | flips the caller's star or bookmark |
 * | `GET /v2/_oci/ext/discover`                  | the extensions and their endpoints                    |
 *
 * The server authenticated the caller already (every `/v2/` path); the answers are filtered by the
 * caller's `read` permission (`SearchScope`).
 */
import type { Logger } from 'pino';
import { isAnonymous } from '../auth/identity.js';
import type { RequestContext } from '../http/context.js';
import { readSmallBody } from '../http/body.js';
import { sendEmpty, sendJson } from '../http/respond.js';
import type { PlainRoute } from '../http/server.js';
import { RegistryError } from '../oci/errors.js';
import { isValidRepositoryName } from '../oci/names.js';
import { runGraphQL, type GraphQLRequest } from './graphql.js';
import { MAX_QUERY_BYTES } from './limits.js';
import { SearchScope, type SearchDeps } from './scope.js';

export const SEARCH_PATH = '/v2/_zot/ext/search';
export const USERPREFS_PATH = '/v2/_zot/ext/userprefs';
export const DISCOVER_PATH = '/v2/_oci/ext/discover';
const MGMT_PATH = '/v2/_zot/ext/mgmt';

/** A query, its variables and an operation name fit in this. */
const MAX_BODY_BYTES = MAX_QUERY_BYTES + 64 * 1024;

function methodNotAllowed(ctx: RequestContext, allowed: string): never {
  ctx.res.setHeader('Allow', allowed);
  throw new RegistryError('UNSUPPORTED', `${ctx.req.method} is not supported here; use ${allowed}`);
}

function badRequest(message: string): RegistryError {
  return new RegistryError('BAD_REQUEST', message);
}

/** The GraphQL request a GET carries in its query string. */
function fromQueryString(url: URL): GraphQLRequest | string {
  const variables = url.searchParams.get('variables');
  let parsed: unknown;
  if (variables !== null && variables !== '') {
    try {
      parsed = JSON.parse(variables) as unknown;
    } catch {
      return 'variables is not JSON';
    }
  }
  return {
    query: url.searchParams.get('query') ?? undefined,
    variables: parsed,
    operationName: url.searchParams.get('operationName') || undefined,
  };
}

async function fromBody(ctx: RequestContext): Promise<GraphQLRequest | string> {
  const body = await readSmallBody(ctx.req, MAX_BODY_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return 'the body is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'the body must be a JSON object';
  const { query, variables, operationName } = parsed as Record<string, unknown>;
  return { query, variables, operationName };
}

export interface SearchRouteOptions {
  deps: SearchDeps;
  log: Logger;
  /** Endpoints listed by discover beside search and userprefs (mgmt when it is served). */
  mgmt: boolean;
}

export function searchRoutes({ deps, log, mgmt }: SearchRouteOptions): PlainRoute {
  const search = async (ctx: RequestContext): Promise<void> => {
    ctx.route = 'search';
    const method = ctx.req.method ?? 'GET';
    if (method !== 'GET' && method !== 'POST') methodNotAllowed(ctx, 'GET, POST');
    const request = method === 'GET' ? fromQueryString(ctx.url) : await fromBody(ctx);
    if (typeof request === 'string') {
      sendJson(ctx, 400, { errors: [{ message: request }] });
      return;
    }
    const answer = await runGraphQL(request, new SearchScope(deps, ctx.identity), log, ctx.id);
    sendJson(ctx, answer.status, answer.body, { 'Cache-Control': 'no-store' });
  };

  const userprefs = async (ctx: RequestContext): Promise<void> => {
    ctx.route = 'userprefs';
    if (ctx.req.method !== 'PUT') methodNotAllowed(ctx, 'PUT');
    const params = ctx.url.searchParams;
    const action = params.get('action');
    const repo = params.get('repo');
    if (action === null || repo === null) throw badRequest('action and repo are required');
    const preference =
      action === 'toggleStar' ? 'starred' : action === 'toggleBookmark' ? 'bookmarked' : undefined;
    if (!preference) throw badRequest('action must be toggleStar or toggleBookmark');
    if (repo === '') throw new RegistryError('NAME_UNKNOWN', 'repository name is empty');
    ctx.repo = repo;
    // Read permission first, so that a hidden repository and a missing one cannot be told apart.
    if (isAnonymous(ctx.identity))
      throw new RegistryError('DENIED', 'sign in to star or bookmark repositories');
    if (!deps.access.can(ctx.identity, 'read', repo))
      throw new RegistryError('DENIED', 'requested access to the resource is denied');
    if (!isValidRepositoryName(repo) || !(await deps.index.repositoryExists(repo)))
      throw new RegistryError('NAME_UNKNOWN', `repository ${repo} not known to registry`, {
        detail: { name: repo },
      });
    await deps.prefs.toggle(ctx.identity.username, repo, preference);
    sendEmpty(ctx, 200);
  };

  const discover = (ctx: RequestContext): void => {
    ctx.route = 'discover';
    if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD') methodNotAllowed(ctx, 'GET');
    sendJson(ctx, 200, {
      extensions: [
        {
          name: '_zot',
          url: 'https://github.com/project-zot/zot/blob/main/pkg/extensions/_zot.md',
          description: 'zot registry extensions',
          endpoints: [SEARCH_PATH, USERPREFS_PATH, ...(mgmt ? [MGMT_PATH] : [])],
        },
      ],
    });
  };

  return async (ctx) => {
    const path = ctx.url.pathname;
    if (path === SEARCH_PATH) await search(ctx);
    else if (path === USERPREFS_PATH) await userprefs(ctx);
    else if (path === DISCOVER_PATH) discover(ctx);
    else return false;
    return true;
  };
}
