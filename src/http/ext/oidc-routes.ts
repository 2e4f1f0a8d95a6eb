/**
 * zot's sign-in routes: `/zot/auth/login?provider=oidc&callback_ui=…` sends the browser to the
 * identity provider, `/zot/auth/callback/<provider>` brings it back signed in, and `POST
 * /zot/auth/logout` ends the session.
 *
 * The sign-in is bound to the browser that started it: the login route stores `state`, `nonce`
 * and the PKCE verifier server-side (keyed by a hash of `state`) and gives the browser `state` in
 * an HttpOnly cookie scoped to the callback path; the callback must present the same `state` in
 * the cookie and the query, and may use it once.
 */
import { constantTimeEqual } from '../../auth/authn/constant-time.js';
import { SharedThrottle } from '../../auth/authn/throttle.js';
import { safeCallbackUrl } from '../../auth/oidc/callback-url.js';
import { SignInError } from '../../auth/oidc/relying-party.js';
import { RegistryError } from '../../oci/errors.js';
import type { BerthAccessGuard } from '../access.js';
import type { RequestContext } from '../context.js';
import { sendJson } from '../respond.js';
import type { PlainRoute } from '../server.js';
import { appendSetCookie, readCookie, serializeCookie } from './cookies.js';
import { sendSignInProblem } from './pages.js';
import { clientAddress, isSameSiteRequest, publicBaseUrl } from './request-info.js';

const LOGIN_PATH = '/zot/auth/login';
const CALLBACK_PREFIX = '/zot/auth/callback/';
const LOGOUT_PATH = '/zot/auth/logout';
const SIGN_IN_COOKIE = 'berth_signin';

/** Characters a `callback_ui` may hold: printable ASCII (the Location header's alphabet). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function oidcRoutes(guard: BerthAccessGuard): PlainRoute {
  const { services } = guard;
  /** Sign-in starts per client address: a burst of 30, then one every 2 s, counted across replicas. */
  const starts = new SharedThrottle(services.throttles, {
    name: 'oidc-start',
    maxAttempts: 30,
    windowMs: 60_000,
  });
  const { settings } = services;

  const redirectUri = (ctx: RequestContext, provider: string): string =>
    `${publicBaseUrl(ctx, settings.externalUrl)}${CALLBACK_PREFIX}${provider}`;

  const signInCookie = (value: string, maxAgeSeconds: number): string =>
    serializeCookie(SIGN_IN_COOKIE, value, {
      maxAgeSeconds,
      httpOnly: true,
      secure: settings.secureCookies,
      path: CALLBACK_PREFIX.slice(0, -1),
    });

  const failed = (ctx: RequestContext, username: string, reason: string): void => {
    services.log.warn({ reason }, 'OIDC sign-in failed');
    services.audit.record({
      action: 'auth.signin-failed',
      user: username,
      client: clientAddress(ctx),
      path: ctx.url.pathname,
      requestId: ctx.id,
      detail: { method: 'oidc', reason },
    });
  };

  /** The named provider, or undefined after answering 400 for an unknown one. */
  const knownProvider = (ctx: RequestContext, name: string) => {
    const provider = services.providers.get(name);
    if (provider === undefined) {
      sendSignInProblem(ctx, 'BAD_REQUEST', `unknown sign-in provider ${JSON.stringify(name.slice(0, 50))}`);
    }
    return provider;
  };

  const login = async (ctx: RequestContext): Promise<void> => {
    ctx.route = 'auth-login';
    const name = ctx.url.searchParams.get('provider') ?? '';
    const provider = knownProvider(ctx, name);
    if (provider === undefined) return;
    const requested = ctx.url.searchParams.get('callback_ui');
    // Only printable ASCII can go back out in a Location header; anything else is the client's error.
    if (requested !== null && !PRINTABLE_ASCII.test(requested)) {
      sendSignInProblem(ctx, 'BAD_REQUEST', 'callback_ui must be printable ASCII (percent-encode the rest)');
      return;
    }
    // The route is anonymous and each call stores a sign-in state: a flood from one address is
    // held to a trickle, so it can neither fill the store nor crowd out sign-ins in progress.
    const address = clientAddress(ctx);
    const wait = await starts.attempt(address);
    if (wait > 0) {
      sendSignInProblem(
        ctx,
        'TOOMANYREQUESTS',
        'Too many sign-ins started from this address; try again in a minute.',
        { 'Retry-After': String(Math.ceil(wait / 1000)) },
      );
      return;
    }
    const callback = safeCallbackUrl(requested, settings.callbackOrigins);
    let pending;
    try {
      pending = await provider.beginSignIn(redirectUri(ctx, name));
    } catch (err) {
      if (!(err instanceof SignInError)) throw err;
      failed(ctx, '', err.message);
      sendSignInProblem(
        ctx,
        'UNAVAILABLE',
        `Signing in with ${name} is not possible right now: ${err.message}`,
      );
      return;
    }
    const now = services.now();
    const saved = await services.signIns.save(
      pending.state,
      { provider: name, codeVerifier: pending.codeVerifier, nonce: pending.nonce, callback },
      new Date(now.getTime() + settings.signInTtlMs),
      now,
    );
    if (!saved) {
      sendSignInProblem(
        ctx,
        'UNAVAILABLE',
        'Too many sign-ins are in progress; try again in a few minutes.',
        {
          'Retry-After': '60',
        },
      );
      return;
    }
    appendSetCookie(ctx.res, signInCookie(pending.state, Math.floor(settings.signInTtlMs / 1000)));
    ctx.res.writeHead(302, { Location: pending.url.href, 'Cache-Control': 'no-store', 'Content-Length': 0 });
    ctx.res.end();
  };

  const callback = async (ctx: RequestContext, name: string): Promise<void> => {
    ctx.route = 'auth-callback';
    const provider = knownProvider(ctx, name);
    if (provider === undefined) return;
    const query = ctx.url.searchParams;
    const state = query.get('state') ?? '';
    const cookie = readCookie(ctx, SIGN_IN_COOKIE) ?? '';
    appendSetCookie(ctx.res, signInCookie('', 0));
    const pending =
      state !== '' && constantTimeEqual(state, cookie)
        ? await services.signIns.take(state, services.now())
        : undefined;
    if (pending === undefined || pending.provider !== name) {
      failed(ctx, '', 'unknown, expired or foreign state');
      sendSignInProblem(
        ctx,
        'UNAUTHORIZED',
        'This sign-in expired or was started in another browser. Please start signing in again.',
      );
      return;
    }
    let signedIn;
    try {
      signedIn = await provider.finishSignIn(
        query,
        { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier },
        redirectUri(ctx, name),
      );
    } catch (err) {
      if (!(err instanceof SignInError)) throw err;
      failed(ctx, '', err.message);
      sendSignInProblem(
        ctx,
        err.kind === 'unavailable' ? 'UNAVAILABLE' : 'UNAUTHORIZED',
        `Signing in with ${name} failed: ${err.message}`,
      );
      return;
    }
    await guard.startSession(ctx, signedIn.username, signedIn.groups, name);
    ctx.identity = { username: signedIn.username, groups: signedIn.groups, method: 'session' };
    ctx.res.writeHead(302, {
      Location: pending.callback === '' ? '/' : pending.callback,
      'Cache-Control': 'no-store',
      'Content-Length': 0,
    });
    ctx.res.end();
  };

  const logout = async (ctx: RequestContext): Promise<void> => {
    ctx.route = 'auth-logout';
    if (ctx.req.method !== 'POST') {
      throw new RegistryError('UNSUPPORTED', 'sign out with POST');
    }
    if (!isSameSiteRequest(ctx, settings.externalUrl))
      throw new RegistryError('DENIED', 'cross-site request refused');
    const username = await guard.endSession(ctx);
    if (username !== undefined) {
      services.log.info({ user: username }, 'signed out');
      services.audit.record({
        action: 'auth.signout',
        user: username,
        client: clientAddress(ctx),
        requestId: ctx.id,
      });
    }
    sendJson(ctx, 200, {}, { 'Cache-Control': 'no-store' });
  };

  return async (ctx) => {
    const path = ctx.url.pathname;
    if (path === LOGIN_PATH) {
      await login(ctx);
      return true;
    }
    if (path.startsWith(CALLBACK_PREFIX)) {
      await callback(ctx, path.slice(CALLBACK_PREFIX.length));
      return true;
    }
    if (path === LOGOUT_PATH) {
      await logout(ctx);
      return true;
    }
    return false;
  };
}
