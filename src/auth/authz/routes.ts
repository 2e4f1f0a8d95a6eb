/**
 * What each distribution-spec route asks of the policy, as data: the one route table. The HTTP
 * layer's pre-handler (`http/authorize.ts`) looks the request's route and method up here, takes the
 * repository from the path, and refuses before any handler runs (zot's `DistSpecAuthzHandler`).
 * A method absent from a route is refused with 405 before authorization: fail closed.
 */
import type { Action } from './actions.js';

/** The `/v2` resources, by route shape. */
export type V2Route =
  /** `/v2/` */
  | 'base'
  /** `/v2/_catalog` */
  | 'catalog'
  /** `/v2/<name>/tags/list` */
  | 'tags'
  /** `/v2/<name>/manifests/<reference>` */
  | 'manifest'
  /** `/v2/<name>/blobs/<digest>` */
  | 'blob'
  /** `/v2/<name>/blobs/uploads/` (start, monolithic `?digest=`, cross-repository `?mount=&from=`) */
  | 'uploads'
  /** `/v2/<name>/blobs/uploads/<id>` */
  | 'upload'
  /** `/v2/<name>/referrers/<digest>` */
  | 'referrers';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type RouteRequirement =
  /** Authentication only (an anonymous caller passes when `anonymousAllowed()`); no repository check. */
  | { readonly kind: 'authenticated' }
  /**
   * No per-request check; the handler lists only repositories the caller may `action`, by the
   * caller's policy whatever its token's scope (`listable` in decision.ts).
   */
  | { readonly kind: 'filtered'; readonly action: Action }
  /** The caller needs `action` on the route's repository. */
  | { readonly kind: 'action'; readonly action: Action }
  /**
   * A manifest write: `create` before the body is read; moving an existing tag to other content
   * also needs `update`, decided under the repository lock once the tag's current digest is known
   * (`manifestWriteAction`), through the same pre-handler's decision.
   */
  | { readonly kind: 'manifest-write' };

const AUTHENTICATED: RouteRequirement = Object.freeze({ kind: 'authenticated' });
const READ: RouteRequirement = Object.freeze({ kind: 'action', action: 'read' });
const CREATE: RouteRequirement = Object.freeze({ kind: 'action', action: 'create' });
const DELETE: RouteRequirement = Object.freeze({ kind: 'action', action: 'delete' });

/**
 * Route × method → requirement. A method missing from a route is not served there (405 from the
 * router, never an authorization question). Differences from a naive method mapping, all as in zot:
 * cancelling an upload (`DELETE` on an upload) needs `delete`, so a create-only CI client cannot
 * cancel its own sessions; reading an upload's status needs `read`.
 */
export const V2_ROUTE_REQUIREMENTS: Readonly<
  Record<V2Route, Readonly<Partial<Record<HttpMethod, RouteRequirement>>>>
> = Object.freeze({
  base: Object.freeze({ GET: AUTHENTICATED, HEAD: AUTHENTICATED }),
  catalog: Object.freeze({ GET: Object.freeze({ kind: 'filtered', action: 'read' }) }),
  tags: Object.freeze({ GET: READ, HEAD: READ }),
  manifest: Object.freeze({ GET: READ, HEAD: READ, PUT: Object.freeze({ kind: 'manifest-write' }), DELETE }),
  blob: Object.freeze({ GET: READ, HEAD: READ, DELETE }),
  uploads: Object.freeze({ POST: CREATE }),
  upload: Object.freeze({ GET: READ, PATCH: CREATE, PUT: CREATE, DELETE }),
  referrers: Object.freeze({ GET: READ, HEAD: READ }),
} satisfies Record<V2Route, Partial<Record<HttpMethod, RouteRequirement>>>);

/**
 * The requirement for `method` on `route`, or undefined when the route does not serve that method.
 * `HEAD` asks what `GET` asks wherever the route serves `GET` (the router answers it with the `GET`
 * handler).
 */
export function routeRequirement(route: V2Route, method: string): RouteRequirement | undefined {
  const byMethod: Partial<Record<string, RouteRequirement>> = V2_ROUTE_REQUIREMENTS[route];
  if (Object.hasOwn(byMethod, method)) return byMethod[method];
  return method === 'HEAD' && Object.hasOwn(byMethod, 'GET') ? byMethod.GET : undefined;
}

/**
 * A cross-repository mount (`POST …/blobs/uploads/?mount=<digest>&from=<source>`) needs `create` on
 * the target (the route's requirement) and this action on the source repository. zot ignores `from`
 * and instead looks for any readable repository holding the digest; checking the named source is the
 * spec's reading and never grants more. When the source is not readable, the mount falls back to an
 * ordinary upload session (202), as the spec allows, rather than failing.
 */
export const MOUNT_SOURCE_ACTION: Action = 'read';
