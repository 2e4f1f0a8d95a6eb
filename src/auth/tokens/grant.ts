import type { Action } from '../authz/actions.js';
import type { Identity } from '../identity.js';
import { grantedScopeActions, type ScopeEntry } from './scope.js';

/**
 * What a token endpoint grants for the scopes a client asked for: for each repository, the
 * requested actions the caller may perform there (`may`, the policy); the catalog listing to
 * anybody who asks (the listing is filtered per caller anyway). Scopes of other resource types,
 * invalid repository names and repositories with nothing granted are left out, as Docker's token
 * servers do: the client then learns of the refusal from the registry's 401 or 403.
 */
export function grantScopes(
  identity: Identity,
  requested: readonly ScopeEntry[],
  may: (identity: Identity, action: Action, repository: string) => boolean,
  isValidRepository: (name: string) => boolean,
): ScopeEntry[] {
  const byRepo = new Map<string, Set<string>>();
  let catalog = false;
  for (const entry of requested) {
    if (entry.type === 'registry' && entry.name === 'catalog' && entry.actions.includes('*')) catalog = true;
    if (entry.type !== 'repository' || !isValidRepository(entry.name)) continue;
    const actions = byRepo.get(entry.name) ?? new Set<string>();
    entry.actions.forEach((a) => actions.add(a));
    byRepo.set(entry.name, actions);
  }
  const granted: ScopeEntry[] = [];
  for (const [name, actions] of byRepo) {
    const allowed = grantedScopeActions([...actions], (action) => may(identity, action, name));
    if (allowed.length > 0) granted.push({ type: 'repository', name, actions: allowed });
  }
  if (catalog) granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
  return granted;
}
