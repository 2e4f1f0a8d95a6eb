/**
 * The authorization decision for one request, pure: the compiled policy says what the caller may
 * do; a registry token the caller presented narrows that to the scope it was issued for. Keeping
 * the two apart is what lets the HTTP layer answer as CNCF Distribution does:
 *
 * | policy allows | token covers | caller     | decision                  | HTTP                          |
 * |---------------|--------------|------------|---------------------------|-------------------------------|
 * | yes           | yes (or none)| any        | allowed                   | the handler runs              |
 * | yes           | no           | any        | `insufficient-scope`      | 401, Bearer challenge naming  |
 * |               |              |            |                           | the scope (the client fetches |
 * |               |              |            |                           | a token for it and retries)   |
 * | no            | —            | anonymous  | `authentication-required` | 401 with the scope            |
 * | no            | —            | known      | `forbidden`               | 403, no challenge             |
 *
 * go-containerregistry (crane, ko, kaniko, Flux) asks for a `push` token before a DELETE; the 401
 * naming `delete` makes it fetch a token with that scope too, and its retry succeeds for a caller
 * the policy lets delete. A 403 there would end the attempt.
 */
import { ANONYMOUS, isAnonymous, tokenAllows, type Identity } from '../identity.js';
import type { Action } from './actions.js';
import type { Policy } from './policy.js';

export type Refused = 'authentication-required' | 'forbidden' | 'insufficient-scope';

/** Why `identity` may not do `action` on `repository`, or undefined when it may. */
export function refusalOf(
  policy: Policy,
  identity: Identity,
  action: Action,
  repository: string,
): Refused | undefined {
  if (!policy.can(identity, action, repository)) {
    return isAnonymous(identity) ? 'authentication-required' : 'forbidden';
  }
  return tokenAllows(identity, action, repository) ? undefined : 'insufficient-scope';
}

/** Whether `identity` may do `action` on `repository`: the policy allows it and the token covers it. */
export function permits(policy: Policy, identity: Identity, action: Action, repository: string): boolean {
  return refusalOf(policy, identity, action, repository) === undefined;
}

/**
 * Whether a registry-level listing (`_catalog`, search) shows `repository` to `identity`: the
 * caller's own `read` policy, whatever its token's scope (podman logs in with a token that names no
 * scope at all, then searches), and never less than the anonymous caller would see, since a name
 * anybody may read is public. A listing shows names only; reading the content still takes `read`.
 */
export function listable(policy: Policy, identity: Identity, repository: string): boolean {
  return policy.can(identity, 'read', repository) || policy.can(ANONYMOUS, 'read', repository);
}
