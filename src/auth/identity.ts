/**
 * Who is making a request, as established by authentication and consumed by authorization.
 * `auth/authn` produces identities; `auth/authz` decides what an identity may do.
 */

/** How an identity was established. */
export type AuthMethod = 'anonymous' | 'htpasswd' | 'apikey' | 'session' | 'token';

export interface Identity {
  /** The user name policies compare against, case-sensitively. Empty for the anonymous caller. */
  readonly username: string;
  /**
   * Groups asserted by the authentication method (OIDC claims, the groups stored with an API key's
   * owner). Groups defined in `accessControl.groups` are added by the policy evaluator, not here.
   */
  readonly groups: readonly string[];
  readonly method: AuthMethod;
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
