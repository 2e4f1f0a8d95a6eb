/**
 * Turning an OpenID Connect sign-in into a Berth user: the user name from the claim
 * `claimMapping.username` names (zot falls back to `email`), the groups from the claim
 * `claimMapping.groups` (default `groups`), read from both the UserInfo response and the ID token.
 */

export interface ClaimMapping {
  /** The claim holding the user name, e.g. `preferred_username`. */
  readonly username: string;
  /** The claim holding the groups, `groups` unless configured. */
  readonly groups: string;
}

export type ClaimsOutcome =
  | { readonly ok: true; readonly username: string; readonly groups: string[] }
  | { readonly ok: false; readonly problem: string };

type Claims = Readonly<Record<string, unknown>>;

function stringClaim(sources: readonly Claims[], name: string): string | undefined {
  for (const source of sources) {
    const value = source[name];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

function groupValues(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value)) return [];
  return value
    .filter((v): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v))
    .map(String)
    .filter((v) => v !== '');
}

/**
 * The user name and groups of a sign-in. UserInfo wins over the ID token for the user name (zot
 * reads UserInfo only; the ID token is a fallback for providers that keep claims out of UserInfo).
 * Groups are the union of both, sorted and without duplicates. Fails when no user name can be found.
 */
export function identityFromClaims(
  userinfo: Claims | undefined,
  idToken: Claims,
  mapping: ClaimMapping,
): ClaimsOutcome {
  const sources = userinfo === undefined ? [idToken] : [userinfo, idToken];
  const username = stringClaim(sources, mapping.username) ?? stringClaim(sources, 'email');
  if (username === undefined) {
    return {
      ok: false,
      problem: `the identity provider sent no "${mapping.username}" claim (nor "email") to take the user name from`,
    };
  }
  const groups = new Set<string>();
  for (const source of sources) groupValues(source[mapping.groups]).forEach((g) => groups.add(g));
  return { ok: true, username, groups: [...groups].sort() };
}
