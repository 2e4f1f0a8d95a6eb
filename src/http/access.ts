/**
 * Who is calling, and how a refusal is worded. The HTTP layer runs `authenticate` once per request;
 * for `/v2`, the authorization pre-handler (`authorize.ts`) then decides from the route table and
 * `policy`. With no authentication and no access control configured, `openAccess` lets everybody do
 * everything (zot's open mode); otherwise `createAccessGuard` builds the guard from `http.auth` and
 * `http.accessControl`.
 *
 * How clients are asked for credentials (the registry token flow, as Docker Hub, GHCR and Harbor
 * do it):
 * - `GET /v2/` without credentials answers 401 with `WWW-Authenticate: Bearer realm="<base>/zot/auth/token",
 *   service="<host>"`. Every client acts on that: the Docker CLI, which ignores a challenge on a 200,
 *   fetches a token (with its stored login, or anonymously); containers/image (skopeo, podman) does
 *   the same and only then sends its credentials.
 * - The token endpoint issues short-lived tokens scoped per repository and action: anonymous ones
 *   for what the anonymous caller may do, more with Basic credentials (a password or an API key).
 * - Every other `/v2` request needs no token: anonymous reads just work (containerd on Kubernetes
 *   nodes, `curl /v2/_catalog`), Basic credentials are accepted on every request, and a request that
 *   needs more answers 401 with a bearer challenge naming the scope it needs (containerd's resolver
 *   acts on those).
 * - The web UI's requests (`X-ZOT-API-CLIENT: zot-ui`) never get a challenge, so no browser dialog.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAuthorization } from '../auth/authn/basic.js';
import type { Action } from '../auth/authz/actions.js';
import { listable, permits } from '../auth/authz/decision.js';
import { compilePolicy, type Policy } from '../auth/authz/policy.js';
import { ANONYMOUS, isAnonymous, type Identity } from '../auth/identity.js';
import type { TokenSubject } from '../auth/tokens/registry-tokens.js';
import type { AppContext } from '../extensions.js';
import { RegistryError } from '../oci/errors.js';
import { certificateCaller } from './client-certificate.js';
import type { RequestContext } from './context.js';
import { Refusal, type Challenge } from './refusal.js';
import { openAuthServices, type AuthServices } from './ext/auth-services.js';
import { appendSetCookie, readCookie, serializeCookie } from './ext/cookies.js';
import { loggableUserName } from '../auth/loggable-name.js';
import { clientAddress, isSameSiteRequest, isUiClient, publicBaseUrl } from './ext/request-info.js';

export interface AuthenticateOptions {
  /**
   * What a caller without credentials gets. `policy` (the default, zot's rule for `/v2`): the
   * anonymous identity when the policy lets anonymous callers do anything at all, else 401.
   * `allow`: always the anonymous identity; the route decides (metrics, the UI's pages).
   */
  readonly anonymous?: 'policy' | 'allow';
}

export interface AccessGuard {
  /** The compiled `accessControl`: what the `/v2` pre-handler decides from (metrics use `canScrapeMetrics`). */
  readonly policy: Policy;
  /**
   * Establishes who is calling: Basic credentials, a registry bearer token, or (only with the web
   * UI's `X-ZOT-API-CLIENT: zot-ui` header) the session cookie. Throws UNAUTHORIZED (401) for
   * credentials that do not check out (never falling back to anonymous), and TOOMANYREQUESTS (429)
   * while the client or user name is throttled.
   */
  authenticate(ctx: RequestContext, options?: AuthenticateOptions): Promise<Identity>;
  /** Whether the caller may do `action` on `repo` (policy and token), for the web UI's views. */
  can(identity: Identity, action: Action, repo: string): boolean;
  /**
   * Whether a registry-level listing (`_catalog`, search) shows `repo` to the caller: its `read`
   * policy whatever its token's scope, and never less than the anonymous caller sees.
   */
  mayList(identity: Identity, repo: string): boolean;
  /**
   * Headers for an error answer of this request: on UNAUTHORIZED the `WWW-Authenticate` challenge
   * (none for the web UI), naming what a `Refusal` carries; on a throttled `Refusal`, `Retry-After`.
   */
  challengeHeaders(ctx: RequestContext, err: RegistryError): OutgoingHttpHeaders;
  /** Whether `GET /v2/` must answer 401 to this caller (to start the token flow). */
  pingRequiresAuth(ctx: RequestContext): boolean;
}

const OPEN_POLICY = compilePolicy(undefined, { authenticationConfigured: false });

export const openAccess: AccessGuard = {
  policy: OPEN_POLICY,
  authenticate: async () => ANONYMOUS,
  can: () => true,
  mayList: () => true,
  challengeHeaders: () => ({}),
  pingRequiresAuth: () => false,
};

/** The path of the token endpoint, under the public base URL. */
export const TOKEN_PATH = '/zot/auth/token';
/** zot lets anybody without bad credentials read the UI's configuration. */
const MGMT_PATH = '/v2/_zot/ext/mgmt';
export const SESSION_COOKIE = 'session';
/** Not HttpOnly: zot's web UI reads the signed-in user's name from it. */
export const USER_COOKIE = 'user';

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

export class BerthAccessGuard implements AccessGuard {
  readonly services: AuthServices;

  constructor(services: AuthServices) {
    this.services = services;
  }

  get policy(): Policy {
    return this.services.policy;
  }

  async authenticate(ctx: RequestContext, options: AuthenticateOptions = {}): Promise<Identity> {
    const { settings, authenticator } = this.services;
    // As in zot, an Authorization header means nothing when no way to authenticate is configured.
    if (settings.canAuthenticate) {
      const header = parseAuthorization(ctx.req.headersDistinct.authorization);
      if (header.kind === 'invalid')
        return this.#refuse(ctx, `unusable Authorization header (${header.reason})`, {}, 'header');
      if (header.kind === 'basic') {
        const { identity } = await this.verifyBasic(ctx, header.username, header.password);
        if (identity.method === 'htpasswd' && isUiClient(ctx))
          await this.startSession(ctx, identity.username, [], undefined);
        return identity;
      }
      if (header.kind === 'bearer') {
        const verdict = await authenticator.checkBearer(header.token);
        if (!verdict.ok)
          return this.#refuse(ctx, 'invalid or expired token', { error: 'invalid_token' }, 'token');
        return verdict.identity;
      }
      if (isUiClient(ctx)) {
        const sessionId = readCookie(ctx, SESSION_COOKIE);
        if (sessionId !== undefined) {
          const identity = await authenticator.checkSession(sessionId);
          if (identity !== undefined) {
            this.#checkCrossSite(ctx);
            return identity;
          }
          // zot: an invalid session is forgotten, and the request goes on as anonymous if it may.
          this.clearSessionCookies(ctx);
        }
      }
    }
    const certified = certificateCaller(ctx.req.socket, this.services.mtls);
    if (certified !== undefined) return certified;
    if (
      options.anonymous === 'allow' ||
      this.policy.anonymousAllowed() ||
      ctx.url.pathname === MGMT_PATH ||
      this.#anonymousScrape(ctx)
    ) {
      return ANONYMOUS;
    }
    throw new Refusal('UNAUTHORIZED', 'authentication required');
  }

  /** zot lets an anonymous scraper through when the metrics policy admits it, whatever the repositories say. */
  #anonymousScrape(ctx: RequestContext): boolean {
    const prefix = this.services.settings.metricsPath;
    if (prefix === undefined) return false;
    const path = ctx.url.pathname;
    return (path === prefix || path.startsWith(`${prefix}/`)) && this.policy.canScrapeMetrics(ANONYMOUS);
  }

  /**
   * Checks Basic credentials (a password, or an API key with its owner's name): the identity and
   * what a token issued to it should name. Throws 401 (after `failDelay`) or 429 like `authenticate`.
   */
  async verifyBasic(
    ctx: RequestContext,
    username: string,
    password: string,
  ): Promise<{ identity: Identity; subject: TokenSubject }> {
    const verdict = await this.services.authenticator.checkBasic(username, password, clientAddress(ctx));
    if (verdict.ok) return verdict;
    if (verdict.reason === 'throttled') {
      this.#auditFailure(ctx, username, 'throttled');
      throw new Refusal('TOOMANYREQUESTS', 'too many failed sign-in attempts; try again later', {
        retryAfterMs: verdict.retryAfterMs,
      });
    }
    return this.#refuse(ctx, 'invalid username or password', {}, verdict.method, username);
  }

  can(identity: Identity, action: Action, repo: string): boolean {
    return permits(this.policy, identity, action, repo);
  }

  mayList(identity: Identity, repo: string): boolean {
    return listable(this.policy, identity, repo);
  }

  pingRequiresAuth(ctx: RequestContext): boolean {
    return (
      this.services.settings.canAuthenticate &&
      !this.policy.isOpen() &&
      isAnonymous(ctx.identity) &&
      !isUiClient(ctx)
    );
  }

  challengeHeaders(ctx: RequestContext, err: RegistryError): OutgoingHttpHeaders {
    const { settings } = this.services;
    const refusal: Challenge = err instanceof Refusal ? err.challenge : {};
    const headers: OutgoingHttpHeaders = {};
    if (refusal.retryAfterMs !== undefined)
      headers['Retry-After'] = String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)));
    if (err.code !== 'UNAUTHORIZED' || isUiClient(ctx) || !settings.canAuthenticate) return headers;
    if (ctx.url.pathname !== '/v2' && !ctx.url.pathname.startsWith('/v2/')) {
      headers['WWW-Authenticate'] = `Basic realm=${quote(settings.realm)}`;
      return headers;
    }
    const params = [
      `realm=${quote(publicBaseUrl(ctx, settings.externalUrl) + TOKEN_PATH)}`,
      `service=${quote(settings.service)}`,
    ];
    if (refusal.scope !== undefined) params.push(`scope=${quote(refusal.scope)}`);
    if (refusal.error !== undefined) params.push(`error=${quote(refusal.error)}`);
    // Docker prints this for an anonymous token that lacks the scope ("denied: <description>").
    if (refusal.error === 'insufficient_scope') params.push('error_description="authentication required"');
    headers['WWW-Authenticate'] = `Bearer ${params.join(',')}`;
    return headers;
  }

  /**
   * Starts a browser session for `username` (a new id every time, so a session id planted before
   * sign-in is worthless after it), records the sign-in with the groups the identity provider
   * asserted, and sets zot's two cookies.
   */
  async startSession(
    ctx: RequestContext,
    username: string,
    groups: readonly string[],
    provider: string | undefined,
  ): Promise<void> {
    const { sessions, users, settings, audit } = this.services;
    const now = this.services.now();
    const previous = readCookie(ctx, SESSION_COOKIE);
    if (previous !== undefined) await sessions.delete(previous);
    await users.recordSignIn(username, groups, now);
    // Offboarding needs to know whether this user's keys hang on the htpasswd file.
    await this.services.authenticator
      .recordOrigin(username, provider)
      .catch((err: unknown) => this.services.log.error({ err }, 'could not record the sign-in origin'));
    const { id } = await sessions.create(username, provider, now, settings.sessionTtlMs);
    const maxAgeSeconds = Math.floor(settings.sessionTtlMs / 1000);
    appendSetCookie(
      ctx.res,
      serializeCookie(SESSION_COOKIE, id, { maxAgeSeconds, httpOnly: true, secure: settings.secureCookies }),
    );
    appendSetCookie(
      ctx.res,
      serializeCookie(USER_COOKIE, username, {
        maxAgeSeconds,
        httpOnly: false,
        secure: settings.secureCookies,
      }),
    );
    this.services.log.info({ user: username, provider: provider ?? 'htpasswd', groups }, 'signed in');
    audit.record({
      action: 'auth.signin',
      user: username,
      client: clientAddress(ctx),
      requestId: ctx.id,
      detail: { method: provider === undefined ? 'htpasswd' : 'oidc', provider, groups: [...groups] },
    });
  }

  /** Ends the request's session, if any, and tells the browser to forget both cookies. */
  async endSession(ctx: RequestContext): Promise<string | undefined> {
    const sessionId = readCookie(ctx, SESSION_COOKIE);
    let username: string | undefined;
    if (sessionId !== undefined) {
      username = (await this.services.sessions.find(sessionId, this.services.now()))?.username;
      await this.services.sessions.delete(sessionId);
    }
    this.clearSessionCookies(ctx);
    return username;
  }

  clearSessionCookies(ctx: RequestContext): void {
    const secure = this.services.settings.secureCookies;
    appendSetCookie(
      ctx.res,
      serializeCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, httpOnly: true, secure }),
    );
    appendSetCookie(ctx.res, serializeCookie(USER_COOKIE, '', { maxAgeSeconds: 0, httpOnly: false, secure }));
  }

  /**
   * Starts background work: OIDC discovery (not awaited). The purge of expired sessions is a job of
   * the app's job runner (`openAuthServices`).
   */
  start(): void {
    for (const provider of this.services.providers.values())
      void provider.configuration().catch(() => undefined);
  }

  stop(): void {
    this.services.close();
  }

  /**
   * The session cookie is honoured only with the UI's custom header, which a cross-site form cannot
   * send; on top of that, a state change whose `Origin` or `Sec-Fetch-Site` names another site is
   * refused.
   */
  #checkCrossSite(ctx: RequestContext): void {
    const method = ctx.req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return;
    if (!isSameSiteRequest(ctx, this.services.settings.externalUrl)) {
      throw new RegistryError('DENIED', 'cross-site request refused');
    }
  }

  async #refuse(
    ctx: RequestContext,
    why: string,
    challenge: Challenge,
    method: 'password' | 'apikey' | 'token' | 'header',
    username?: string,
  ): Promise<never> {
    this.#auditFailure(ctx, username ?? '', method);
    const delay = this.services.settings.failDelayMs;
    if (delay > 0) await sleep(delay);
    throw new Refusal('UNAUTHORIZED', 'authentication required', challenge, { description: why });
  }

  #auditFailure(ctx: RequestContext, attempted: string, reason: string): void {
    // The attempted name is the client's text, possibly a swapped key: never log it raw.
    const username = loggableUserName(attempted);
    this.services.log.info(
      { user: username || undefined, reason, path: ctx.url.pathname },
      'authentication refused',
    );
    this.services.audit.record({
      action: 'auth.signin-failed',
      user: username,
      client: clientAddress(ctx),
      method: ctx.req.method,
      path: ctx.url.pathname,
      requestId: ctx.id,
      detail: { reason },
    });
  }
}

/**
 * The access factory `buildApp` uses by default: `openAccess` when neither authentication nor
 * access control is configured, otherwise a `BerthAccessGuard` over the auth services.
 */
export async function createAccessGuard(ctx: Omit<AppContext, 'access'>): Promise<AccessGuard> {
  if (ctx.config.http.auth === undefined && ctx.config.http.accessControl === undefined) return openAccess;
  return new BerthAccessGuard(await openAuthServices(ctx));
}
