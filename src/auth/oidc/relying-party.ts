/**
 * One OpenID Connect provider, as a relying party (openid-client): discovery, the authorization
 * request (always with PKCE S256, `state` and `nonce`, whether or not the client has a secret), and
 * the callback (code exchange, ID-token checks including issuer, audience and nonce, UserInfo).
 *
 * Discovery is lazy and retried: a provider that is down when Berth starts does not stop Berth (zot
 * refuses to start), it only makes sign-in fail, with a message saying why, until it is back.
 */
import * as client from 'openid-client';
import { identityFromClaims, type ClaimMapping } from './claims.js';

export interface RelyingPartySettings {
  /** The key under `openid.providers` (`oidc`), also the callback path segment. */
  readonly provider: string;
  readonly issuer: string;
  readonly clientId: string;
  /** Absent for a public client. */
  readonly clientSecret: string | undefined;
  readonly scopes: readonly string[];
  readonly claimMapping: ClaimMapping;
}

export interface RelyingPartyLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface RelyingPartyOptions {
  readonly log?: RelyingPartyLogger;
  /** First retry delay after a failed discovery; doubles up to `maxRetryMs`. Default 1 000 ms. */
  readonly minRetryMs?: number;
  /** Default 30 000 ms. */
  readonly maxRetryMs?: number;
  /** Seconds each request to the provider may take. Default 10. */
  readonly timeoutSeconds?: number;
  readonly now?: () => number;
}

/** Why a sign-in failed, in words fit for the person signing in (never a secret). */
export class SignInError extends Error {
  /** `unavailable`: the provider cannot be reached or discovered; `rejected`: the exchange or a check failed. */
  readonly kind: 'unavailable' | 'rejected';
  constructor(kind: 'unavailable' | 'rejected', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignInError';
    this.kind = kind;
  }
}

/** What the login route keeps until the callback. */
export interface PendingSignIn {
  readonly url: URL;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export interface SignedIn {
  readonly username: string;
  readonly groups: string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function describe(err: unknown): string {
  if (err instanceof client.ResponseBodyError) {
    return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  if (err instanceof client.AuthorizationResponseError) {
    return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

export class OidcRelyingParty {
  readonly settings: RelyingPartySettings;
  readonly #log: RelyingPartyLogger | undefined;
  readonly #minRetryMs: number;
  readonly #maxRetryMs: number;
  readonly #timeout: number;
  readonly #now: () => number;
  #config: client.Configuration | undefined;
  #inflight: Promise<client.Configuration> | undefined;
  #lastError: SignInError | undefined;
  #failures = 0;
  #retryAt = 0;

  constructor(settings: RelyingPartySettings, options: RelyingPartyOptions = {}) {
    this.settings = settings;
    this.#log = options.log;
    this.#minRetryMs = options.minRetryMs ?? 1_000;
    this.#maxRetryMs = options.maxRetryMs ?? 30_000;
    this.#timeout = options.timeoutSeconds ?? 10;
    this.#now = options.now ?? Date.now;
  }

  /** Whether discovery has succeeded, and if not, what went wrong last. */
  status(): { ready: boolean; problem?: string } {
    if (this.#config !== undefined) return { ready: true };
    return this.#lastError === undefined
      ? { ready: false }
      : { ready: false, problem: this.#lastError.message };
  }

  /**
   * The provider's configuration, discovering it on first use. While a failed discovery's back-off
   * runs, fails at once with the last error instead of waiting on the provider again.
   */
  async configuration(): Promise<client.Configuration> {
    if (this.#config !== undefined) return this.#config;
    if (this.#inflight !== undefined) return this.#inflight;
    if (this.#lastError !== undefined && this.#now() < this.#retryAt) throw this.#lastError;
    this.#inflight = this.#discover().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, provider } = this.settings;
    try {
      let url: URL;
      try {
        url = new URL(issuer);
      } catch {
        throw new SignInError('unavailable', `the issuer ${JSON.stringify(issuer)} is not a URL`);
      }
      // Plain HTTP is only tolerated on loopback (a provider on the same machine, or tests).
      const insecure = url.protocol === 'http:';
      if (insecure && !LOOPBACK.has(url.hostname)) {
        throw new SignInError('unavailable', `the issuer ${issuer} must use https`);
      }
      const config = await client.discovery(
        url,
        clientId,
        clientSecret === undefined ? undefined : { client_secret: clientSecret },
        clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
        { timeout: this.#timeout, ...(insecure ? { execute: [client.allowInsecureRequests] } : {}) },
      );
      this.#config = config;
      this.#lastError = undefined;
      this.#failures = 0;
      this.#log?.info({ provider, issuer }, 'OpenID provider discovered');
      return config;
    } catch (err) {
      const error =
        err instanceof SignInError
          ? err
          : new SignInError(
              'unavailable',
              `the sign-in provider at ${issuer} cannot be reached: ${describe(err)}`,
              {
                cause: err,
              },
            );
      this.#failures++;
      const delay = Math.min(this.#maxRetryMs, this.#minRetryMs * 2 ** (this.#failures - 1));
      this.#retryAt = this.#now() + delay;
      this.#lastError = error;
      this.#log?.warn(
        { provider, issuer, problem: error.message, retryInMs: delay },
        'OpenID provider discovery failed',
      );
      throw error;
    }
  }

  /**
   * Starts a sign-in: the authorization URL and the secrets the callback must check against.
   * `redirectUri` is `<external URL>/zot/auth/callback/<provider>`.
   */
  async beginSignIn(redirectUri: string): Promise<PendingSignIn> {
    const config = await this.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Finishes a sign-in from the callback's query string: checks `state`, exchanges the code with the
   * PKCE verifier, verifies the ID token (signature, issuer, audience, expiry, `nonce`), fetches
   * UserInfo for the same subject, and maps the claims to a user name and groups.
   */
  async finishSignIn(
    query: URLSearchParams,
    pending: Omit<PendingSignIn, 'url'>,
    redirectUri: string,
  ): Promise<SignedIn> {
    const config = await this.configuration();
    // The token request names the same redirect URI as the authorization request did.
    const current = new URL(redirectUri);
    for (const [k, v] of query) current.searchParams.append(k, v);
    let idClaims: Record<string, unknown>;
    let userinfo: Record<string, unknown> | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (claims === undefined)
        throw new SignInError('rejected', 'the identity provider returned no ID token');
      idClaims = claims;
      if (config.serverMetadata().userinfo_endpoint !== undefined) {
        userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      }
    } catch (err) {
      if (err instanceof SignInError) throw err;
      throw new SignInError(
        'rejected',
        `the identity provider did not complete the sign-in: ${describe(err)}`,
        { cause: err },
      );
    }
    const outcome = identityFromClaims(userinfo, idClaims, this.settings.claimMapping);
    if (!outcome.ok) throw new SignInError('rejected', outcome.problem);
    return { username: outcome.username, groups: outcome.groups };
  }
}
