/**
 * zot's `accessControl` evaluator, compiled once per configuration and consulted on every request.
 *
 * Three modes, decided by what the configuration holds:
 *
 * | mode            | when                                        | who may do what                              |
 * |-----------------|---------------------------------------------|----------------------------------------------|
 * | `open`          | no `accessControl`, no authentication       | everybody everything, metrics included       |
 * | `authenticated` | no `accessControl`, some authentication     | every authenticated caller everything; the   |
 * |                 |                                             | anonymous caller nothing (zot answers 401)   |
 * | `policy`        | `accessControl` present                     | the rules below; without authentication only |
 * |                 |                                             | the anonymous caller exists                  |
 *
 * Rules in `policy` mode (zot's `can` and `isPermitted`):
 * 1. Only the repository pattern with the most characters (bytes, as Go's `len`) among those that
 *    match the whole repository name applies; shorter matching patterns are ignored, not merged.
 *    Ties, which zot leaves to Go's random map order, go to the pattern that sorts first in code-unit
 *    order (so `?/b` beats `a/?` for `a/b`). Patterns are lower-cased first, as zot's config loader
 *    does; when two keys fold to the same pattern, the one that sorted first before folding wins.
 * 2. That pattern grants the action when a `policies` entry lists the caller's user name (anonymous
 *    is `""`) or one of the caller's groups together with the action, when the caller is
 *    authenticated and `defaultPolicy` has the action, or when the caller is anonymous and
 *    `anonymousPolicy` has it.
 * 3. Otherwise `adminPolicy` grants the action to its users and groups. Nothing else grants: a
 *    repository no pattern matches is closed to everybody but admins. There are no deny rules.
 * 4. Policy entries (and an `adminPolicy`) carrying zot HEAD's CEL `conditions` grant nothing, since
 *    Berth does not evaluate CEL: failing closed beats granting what the operator restricted.
 *
 * User and group names compare case-sensitively. A caller's groups are the ones its authentication
 * method asserted plus, for every method, the `accessControl.groups` that list its user name. zot adds
 * the config groups only for htpasswd and LDAP users; Berth adds them for OIDC sessions and API keys
 * too, a superset that lets one config file describe a user's groups whatever way they sign in.
 * Group names under `accessControl.groups` are lower-cased like every map key zot's loader reads.
 */
import { isAnonymous, type Identity } from '../identity.js';
import type { AccessControlConfig, AccessPolicyConfig } from './access-control-config.js';
import { ACTIONS, type Action } from './actions.js';
import { compileRepositoryPattern } from './repository-pattern.js';

export type PolicyMode = 'open' | 'authenticated' | 'policy';

export interface PolicyOptions {
  /**
   * Whether any way to authenticate is configured (htpasswd, LDAP, OpenID, API keys, bearer tokens).
   * Decides between the `open` and `authenticated` modes when there is no `accessControl`.
   */
  readonly authenticationConfigured: boolean;
}

export interface Policy {
  readonly mode: PolicyMode;
  /** Whether `identity` may perform `action` on `repository` (a full name, no leading slash). */
  can(identity: Identity, action: Action, repository: string): boolean;
  /**
   * Whether `identity` may read the metrics endpoint. In `policy` mode: the anonymous caller when
   * `metrics.users` contains `""` (zot before June 2026, the homelab's config) or
   * `metrics.anonymousPolicy` contains `read` (zot since); an authenticated caller when
   * `metrics.users` names it. Groups and admins do not count, as in zot.
   */
  canScrapeMetrics(identity: Identity): boolean;
  /** Whether the caller matches `adminPolicy` by user name or group (whatever actions it lists). */
  isAdmin(identity: Identity): boolean;
  /** The caller's groups as the evaluator sees them: asserted groups plus `accessControl.groups`. */
  groupsOf(identity: Identity): readonly string[];
  /**
   * Whether a request without credentials may proceed as the anonymous caller instead of getting 401
   * straight away (zot's authentication chain, case "anonymous allowed"): always in `open` mode, and
   * in `policy` mode when no authentication is configured or any repository pattern grants the
   * anonymous caller something (a non-empty `anonymousPolicy`, which is zot's test, or a `policies`
   * entry naming user `""`, which zot would have ignored unless an `anonymousPolicy` existed).
   * The metrics endpoint has its own test: `canScrapeMetrics(ANONYMOUS)`.
   */
  anonymousAllowed(): boolean;
  /** Whether some repository pattern lets the anonymous caller `read` (true in `open` mode). */
  anonymousMayRead(): boolean;
  /** True in `open` mode: nothing is restricted for anybody. */
  isOpen(): boolean;
}

interface Grant {
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly authenticated: boolean;
  readonly anonymous: boolean;
}

interface CompiledPattern {
  readonly pattern: string;
  readonly matches: (repository: string) => boolean;
  readonly grants: Readonly<Record<Action, Grant>>;
}

const EMPTY: readonly string[] = Object.freeze([]);
const GOVERNING_CACHE_SIZE = 10_000;

function list(values: readonly string[] | null | undefined): readonly string[] {
  return values ?? EMPTY;
}

/** Entries with CEL conditions are skipped: Berth cannot evaluate them, and must not grant blindly. */
function unconditional(policy: AccessPolicyConfig): boolean {
  return (policy.conditions ?? []).length === 0;
}

function policiesGranting(policies: readonly AccessPolicyConfig[], action: Action): AccessPolicyConfig[] {
  return policies.filter((p) => unconditional(p) && list(p.actions).includes(action));
}

function grantFor(
  policies: readonly AccessPolicyConfig[],
  defaultPolicy: readonly string[],
  anonymousPolicy: readonly string[],
  action: Action,
): Grant {
  const granting = policiesGranting(policies, action);
  return {
    users: new Set(granting.flatMap((p) => list(p.users))),
    groups: new Set(granting.flatMap((p) => list(p.groups))),
    authenticated: defaultPolicy.includes(action),
    anonymous: anonymousPolicy.includes(action),
  };
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function compilePatterns(config: AccessControlConfig): CompiledPattern[] {
  const keys = Object.keys(config.repositories ?? {}).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const seen = new Set<string>();
  const compiled: CompiledPattern[] = [];
  for (const key of keys) {
    const pattern = key.toLowerCase();
    if (seen.has(pattern)) continue;
    seen.add(pattern);
    const group = config.repositories?.[key] ?? {};
    const policies = group.policies ?? [];
    const defaultPolicy = list(group.defaultPolicy);
    const anonymousPolicy = list(group.anonymousPolicy);
    const grants = Object.fromEntries(
      ACTIONS.map((action) => [action, grantFor(policies, defaultPolicy, anonymousPolicy, action)]),
    ) as Record<Action, Grant>;
    compiled.push({ pattern, matches: compileRepositoryPattern(pattern), grants });
  }
  // Longest first, then code-unit order: the first pattern that matches is the one that applies.
  return compiled.sort(
    (a, b) =>
      byteLength(b.pattern) - byteLength(a.pattern) ||
      (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0),
  );
}

function configGroupsByUser(config: AccessControlConfig): Map<string, string[]> {
  const byUser = new Map<string, string[]>();
  for (const [name, group] of Object.entries(config.groups ?? {})) {
    const groupName = name.toLowerCase();
    for (const user of list(group.users)) {
      const groups = byUser.get(user) ?? [];
      if (!groups.includes(groupName)) groups.push(groupName);
      byUser.set(user, groups);
    }
  }
  return byUser;
}

function hasAny(groups: readonly string[], allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return false;
  for (const g of groups) if (allowed.has(g)) return true;
  return false;
}

function compileOpen(): Policy {
  return {
    mode: 'open',
    can: () => true,
    canScrapeMetrics: () => true,
    isAdmin: () => false,
    groupsOf: (identity) => (isAnonymous(identity) ? EMPTY : identity.groups),
    anonymousAllowed: () => true,
    anonymousMayRead: () => true,
    isOpen: () => true,
  };
}

function compileAuthenticatedOnly(): Policy {
  return {
    mode: 'authenticated',
    can: (identity) => !isAnonymous(identity),
    canScrapeMetrics: (identity) => !isAnonymous(identity),
    isAdmin: () => false,
    groupsOf: (identity) => (isAnonymous(identity) ? EMPTY : identity.groups),
    anonymousAllowed: () => false,
    anonymousMayRead: () => false,
    isOpen: () => false,
  };
}

function compileRules(config: AccessControlConfig, options: PolicyOptions): Policy {
  const patterns = compilePatterns(config);
  const configGroups = configGroupsByUser(config);
  const admin = config.adminPolicy ?? {};
  const adminUsers = new Set(list(admin.users));
  const adminGroups = new Set(list(admin.groups));
  const adminActions = new Set(unconditional(admin) ? list(admin.actions) : EMPTY);
  const metricsUsers = new Set(list(config.metrics?.users));
  const anonymousMetrics = metricsUsers.has('') || list(config.metrics?.anonymousPolicy).includes('read');

  const anonymousGranted = patterns.some((p) =>
    ACTIONS.some((a) => p.grants[a].anonymous || p.grants[a].users.has('')),
  );
  const anonymousAllowed = !options.authenticationConfigured || anonymousGranted;
  const anonymousReads = patterns.some((p) => p.grants.read.anonymous || p.grants.read.users.has(''));

  // Which pattern governs a repository never changes for a compiled policy, so it is remembered;
  // the memory is emptied when full, which bounds it without bookkeeping on every lookup.
  const governing = new Map<string, CompiledPattern | null>();
  const applicablePattern = (repository: string): CompiledPattern | undefined => {
    let found = governing.get(repository);
    if (found === undefined) {
      found = patterns.find((p) => p.matches(repository)) ?? null;
      if (governing.size >= GOVERNING_CACHE_SIZE) governing.clear();
      governing.set(repository, found);
    }
    return found ?? undefined;
  };

  const groupsOf = (identity: Identity): readonly string[] => {
    if (isAnonymous(identity)) return EMPTY;
    const extra = configGroups.get(identity.username);
    if (extra === undefined) return identity.groups;
    return [...new Set([...identity.groups, ...extra])];
  };

  const isAdmin = (username: string, groups: readonly string[]): boolean =>
    adminUsers.has(username) || hasAny(groups, adminGroups);

  return {
    mode: 'policy',
    can(identity, action, repository) {
      const anonymous = isAnonymous(identity);
      const username = anonymous ? '' : identity.username;
      const groups = groupsOf(identity);
      const applicable = applicablePattern(repository);
      if (applicable !== undefined) {
        const grant = applicable.grants[action];
        if (grant.users.has(username)) return true;
        if (hasAny(groups, grant.groups)) return true;
        if (anonymous ? grant.anonymous : grant.authenticated) return true;
      }
      return adminActions.has(action) && isAdmin(username, groups);
    },
    canScrapeMetrics(identity) {
      if (isAnonymous(identity)) return anonymousMetrics;
      return metricsUsers.has(identity.username);
    },
    isAdmin(identity) {
      return isAdmin(isAnonymous(identity) ? '' : identity.username, groupsOf(identity));
    },
    groupsOf,
    anonymousAllowed: () => anonymousAllowed,
    anonymousMayRead: () => anonymousReads,
    isOpen: () => false,
  };
}

/**
 * Compiles `accessControl` (or its absence) into a `Policy`. Patterns are compiled here, once; the
 * first decision about a repository tests patterns longest first until one matches, and later ones
 * reuse that answer (up to 10 000 repositories are remembered).
 * Throws `TypeError` for a repository pattern that is not a valid glob (zot refuses such configs too).
 */
export function compilePolicy(
  accessControl: AccessControlConfig | null | undefined,
  options: PolicyOptions,
): Policy {
  if (accessControl === undefined || accessControl === null) {
    return options.authenticationConfigured ? compileAuthenticatedOnly() : compileOpen();
  }
  return compileRules(accessControl, options);
}
