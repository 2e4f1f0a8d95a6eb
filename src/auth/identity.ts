/**
 * Who is making a request, as established by authentication and consumed by authorization.
 * `auth/authn` produces identities; `auth/authz` decides what an identity may do.
 */

import type { Action } from './authz/actions.js';

/** How an identity was established. */
export type AuthMethod = 'anonymous' | 'htpasswd' | 'apikey' | 'session' | 'token' | 'mtls';

/**
 * What a registry bearer token allows (Docker's token scopes, translated to Berth's actions). An
 * identity carrying one may do no more than this, and no more than the policy allows it either:
 * the token narrows the caller's rights, it never widens them.
 */
export interface TokenAccess {
  /** Repository name → the actions the token allows on it. */
  readonly repositories: ReadonlyMap<string, ReadonlySet<Action>>;
  /** `registry:catalog:*`: the token may list the catalog (filtered by the policy as always). */
  readonly catalog: boolean;
}

export interface Identity {
  /** The user name policies compare against, case-sensitively. Empty for the anonymous caller. */
  readonly username: string;
  /**
   * Groups asserted by the authentication method (OIDC claims, the groups stored with an API key's
   * owner). Groups defined in `accessControl.groups` are added by the policy evaluator, not here.
   */
  readonly groups: readonly string[];
  readonly method: AuthMethod;
  /** Set when the caller presented a registry bearer token: the scope it was issued for. */
  readonly tokenAccess?: TokenAccess;
}

/**
 * The caller who presented no credentials. zot names this user `""`, which is why `users: [""]` in a
 * policy grants anonymous callers.
 */
export const ANONYMOUS: Identity = Object.freeze({
  username: '',
  groups: Object.freeze([]),
  method: 'anonymous',
});

/**
 * True for the anonymous caller. An identity with an empty user name counts as anonymous whatever its
 * method says, so that a bug elsewhere can never hand an unnamed caller the rights of an
 * authenticated user (`defaultPolicy`).
 */
export function isAnonymous(identity: Identity): boolean {
  return identity.method === 'anonymous' || identity.username === '';
}

/**
 * Whether a token-bearing identity's token covers `action` on `repository` (always true without a
 * token). A token that may list the catalog may also `read` any repository (the catalog asks `read`
 * per repository); the policy still decides, so this is nothing the same caller could not get a
 * token for anyway.
 */
export function tokenAllows(identity: Identity, action: Action, repository: string): boolean {
  const access = identity.tokenAccess;
  if (access === undefined) return true;
  if (access.repositories.get(repository)?.has(action) === true) return true;
  return action === 'read' && access.catalog;
}
