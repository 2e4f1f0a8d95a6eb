/** OpenID Connect sign-in: the relying party, claim mapping and the post-sign-in redirect check. */
export { httpOrigin, safeCallbackUrl } from './callback-url.js';
export { identityFromClaims, type ClaimMapping, type ClaimsOutcome } from './claims.js';
export {
  OidcRelyingParty,
  SignInError,
  type PendingSignIn,
  type RelyingPartyLogger,
  type RelyingPartyOptions,
  type RelyingPartySettings,
  type SignedIn,
} from './relying-party.js';
