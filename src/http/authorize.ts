/**
 * The authorization pre-handler for `/v2`: runs once per request, after authentication and before
 * the handler. It looks the route and method up in the route table (`auth/authz/routes.ts`), takes
 * the repository from the path, asks the pure decision (`auth/authz/decision.ts`), and throws a
 * `Refusal` carrying its challenge. Handlers never call the policy themselves; the few that need a
 * further decision (a manifest push moving a tag, the source of a cross-repository mount, which
 * repositories a listing shows) get it from the `RouteAuthorization` this returns.
 */
import type { Action } from '../auth/authz/actions.js';
import { permits, refusalOf } from '../auth/authz/decision.js';
import { routeRequirement } from '../auth/authz/routes.js';
import { RegistryError } from '../oci/errors.js';
import type { AccessGuard } from './access.js';
import type { RequestContext } from './context.js';
import { Refusal, refusalFor } from './refusal.js';
import type { V2Path } from './v2/paths.js';

/** What the pre-handler decided, for handlers that need a further decision. */
export interface RouteAuthorization {
  /** Throws the refusal unless the caller may do `action` on the route's repository. */
  require(action: Action): void;
  /** Whether the caller may do `action` on another repository (a mount's source): never throws. */
  permits(action: Action, repository: string): boolean;
  /** Whether a registry-level listing shows `repository` to the caller. */
  lists(repository: string): boolean;
}

/**
 * Authorizes the request for `path`, or throws: 405 UNSUPPORTED for a method the table does not
 * list for the route, 401 for an anonymous `GET /v2/` that must start the token flow, and the
 * refusal of the route's action on its repository.
 */
export function authorizeRoute(ctx: RequestContext, access: AccessGuard, path: V2Path): RouteAuthorization {
  const method = ctx.req.method ?? 'GET';
  const requirement = routeRequirement(path.kind, method);
  if (requirement === undefined) {
    throw new RegistryError('UNSUPPORTED', `${method} is not supported on ${path.kind}`);
  }
  const identity = ctx.identity;
  const repository = 'name' in path ? path.name : undefined;
  const require = (action: Action): void => {
    if (repository === undefined) throw new Error(`route ${path.kind} names no repository`);
    const refused = refusalOf(access.policy, identity, action, repository);
    if (refused !== undefined) {
      throw refusalFor(refused, action, repository, identity.tokenAccess !== undefined, identity.username);
    }
  };
  switch (requirement.kind) {
    case 'authenticated':
      // An anonymous ping answers 401 with a scope-less challenge: every client starts its token
      // flow (or sends its credentials) on that.
      if (access.pingRequiresAuth(ctx)) throw new Refusal('UNAUTHORIZED', 'authentication required');
      break;
    case 'filtered':
      break;
    case 'action':
      require(requirement.action);
      break;
    case 'manifest-write':
      // The body is not read before this: an anonymous push is refused without buffering 4 MiB.
      require('create');
      break;
  }
  return {
    require,
    permits: (action, other) => permits(access.policy, identity, action, other),
    lists: (other) => access.mayList(identity, other),
  };
}
