/**
 * Docker's registry token scopes (`repository:<name>:pull,push`), as clients request them from a
 * token endpoint and as tokens carry them in their `access` claim, and their translation into
 * Berth's four actions. Pure.
 */
import type { Action } from '../authz/actions.js';

/** The actions a Docker scope can name; `*` is expanded to these when a token is issued. */
export type ScopeAction = 'pull' | 'push' | 'delete';
export const SCOPE_ACTIONS: readonly ScopeAction[] = Object.freeze(['pull', 'push', 'delete'] as const);

/** One resource a token request asks for, or a token grants (Docker's `access` claim entry). */
export interface ScopeEntry {
  /** `repository` or `registry` (for `registry:catalog:*`). */
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/**
 * Parses one scope, `type[(class)]:name:action[,action…]`. The name may itself hold colons (a host
 * with a port), so it is everything between the first and the last colon. Undefined when malformed.
 */
export function parseScope(scope: string): ScopeEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first + 1) return undefined;
  const type = scope.slice(0, first).replace(/\([a-z0-9]+\)$/i, '');
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (!/^[a-z0-9]+$/i.test(type) || actions.length === 0) return undefined;
  return { type: type.toLowerCase(), name, actions };
}

/**
 * Parses every scope of a token request: repeated `scope` query parameters, each possibly holding
 * several space-separated scopes (the OAuth2 form). Malformed scopes are skipped, as Docker's own
 * token server does; at most `limit` are kept.
 */
export function parseScopes(values: readonly string[], limit = 50): ScopeEntry[] {
  const out: ScopeEntry[] = [];
  for (const value of values) {
    for (const part of value.split(' ')) {
      if (part === '') continue;
      const entry = parseScope(part);
      if (entry !== undefined) out.push(entry);
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** The Berth actions a Docker scope action stands for: `push` covers creating and moving tags. */
export function actionsOfScopeAction(action: string): readonly Action[] {
  switch (action) {
    case 'pull':
      return ['read'];
    case 'push':
      return ['create', 'update'];
    case 'delete':
      return ['delete'];
    case '*':
      return ['read', 'create', 'update', 'delete'];
    default:
      return [];
  }
}

/** The Docker scope actions a 401 challenge asks for when `action` was refused. */
export function scopeActionsFor(action: Action): readonly ScopeAction[] {
  switch (action) {
    case 'read':
      return ['pull'];
    case 'create':
    case 'update':
      return ['pull', 'push'];
    case 'delete':
      return ['delete'];
  }
}

/**
 * Which of the requested scope actions to grant, given what the caller may do on the repository:
 * `pull` needs `read`; `push` needs `create` or `update` (the request itself decides which, later);
 * `delete` needs `delete`; `*` asks for all three. Never more than was asked.
 */
export function grantedScopeActions(
  requested: readonly string[],
  may: (action: Action) => boolean,
): ScopeAction[] {
  const wanted = new Set<ScopeAction>();
  for (const a of requested) {
    if (a === '*') SCOPE_ACTIONS.forEach((s) => wanted.add(s));
    else if ((SCOPE_ACTIONS as readonly string[]).includes(a)) wanted.add(a as ScopeAction);
  }
  return SCOPE_ACTIONS.filter((a) => wanted.has(a) && actionsOfScopeAction(a).some(may));
}
