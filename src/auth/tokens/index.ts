/** Registry bearer tokens: Docker's token scopes and the JWTs the token endpoint issues. */
export {
  SCOPE_ACTIONS,
  actionsOfScopeAction,
  grantedScopeActions,
  parseScope,
  parseScopes,
  scopeActionsFor,
  type ScopeAction,
  type ScopeEntry,
} from './scope.js';
export { grantScopes } from './grant.js';
export {
  RegistryTokens,
  type IssuedToken,
  type RegistryTokenOptions,
  type TokenSubject,
  type VerifiedToken,
} from './registry-tokens.js';
