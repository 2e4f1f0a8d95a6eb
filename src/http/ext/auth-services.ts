/**
 * Everything authentication needs at run time, built once from the configuration: the compiled
 * policy, the htpasswd file, the auth tables, the token issuer, the OpenID relying parties, and
 * the settings the HTTP layer applies (cookies, realm, delays).
 */
import type { Logger } from 'pino';
import { auditLogFor, type AuditLog } from '../../audit/audit-log.js';
import { Authenticator } from '../../auth/authenticator.js';
import { UserOriginStore } from '../../meta/user-origins.js';
import { authenticationConfigured } from '../../auth/authentication-configured.js';
import { HtpasswdFile } from '../../auth/authn/htpasswd.js';
import { FailureThrottle } from '../../auth/authn/throttle.js';
import { compilePolicy, type Policy } from '../../auth/authz/policy.js';
import { OidcRelyingParty } from '../../auth/oidc/relying-party.js';
import {
  ApiKeyStore,
  LoginStateStore,
  loadSigningKey,
  migrateAuthTables,
  SessionStore,
  UserStore,
} from '../../auth/store/index.js';
import { RegistryTokens } from '../../auth/tokens/registry-tokens.js';
import { OPENID_PROVIDERS, type Config } from '../../config/index.js';
import type { AppContext } from '../../extensions.js';

export interface AuthSettings {
  /** `http.externalUrl` without a trailing slash. */
  readonly externalUrl: string | undefined;
  /** The realm of Basic challenges (`http.realm`, zot's default otherwise). */
  readonly realm: string;
  /** The `service` of bearer challenges and the audience of registry tokens. */
  readonly service: string;
  /** Cookies get `Secure` when the external URL is https (or `secureSession`, or TLS). */
  readonly secureCookies: boolean;
  /** `http.auth.failDelay`: waited before answering refused credentials. */
  readonly failDelayMs: number;
  /** Absolute lifetime of a browser session (zot: 2 h). */
  readonly sessionTtlMs: number;
  /** How long an OIDC sign-in may take between redirect and callback. */
  readonly signInTtlMs: number;
  /** Origins `callback_ui` may point to besides relative paths. */
  readonly callbackOrigins: readonly string[];
  readonly apiKeysEnabled: boolean;
  /** Whether any way to authenticate that Berth implements is configured. */
  readonly canAuthenticate: boolean;
  /** The metrics route's path prefix when metrics are on (anonymous scrapers get through authentication there). */
  readonly metricsPath: string | undefined;
}

export interface AuthServices {
  readonly settings: AuthSettings;
  readonly policy: Policy;
  readonly htpasswd: HtpasswdFile | undefined;
  readonly apiKeys: ApiKeyStore | undefined;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly signIns: LoginStateStore;
  readonly tokens: RegistryTokens;
  readonly authenticator: Authenticator;
  /** OpenID providers by their key under `openid.providers`. */
  readonly providers: ReadonlyMap<string, OidcRelyingParty>;
  readonly audit: AuditLog;
  readonly log: Logger;
  now(): Date;
  /** Stops watching the htpasswd file. */
  close(): void;
}

const SESSION_TTL_MS = 2 * 60 * 60 * 1000;
const SIGN_IN_TTL_MS = 10 * 60 * 1000;

function trimSlash(url: string | undefined): string | undefined {
  return url?.replace(/\/+$/, '');
}

export function authSettings(config: Config): AuthSettings {
  const auth = config.http.auth;
  const externalUrl = trimSlash(config.http.externalUrl);
  let service = 'berth';
  let externalOrigin: string | undefined;
  if (externalUrl !== undefined) {
    try {
      const url = new URL(externalUrl);
      service = url.host;
      externalOrigin = url.origin;
    } catch {
      // the config loader validates externalUrl; keep the defaults if it ever did not
    }
  }
  const openid = auth?.openid;
  return {
    externalUrl,
    realm: config.http.realm ?? 'Authorization Required',
    service,
    secureCookies:
      externalUrl?.startsWith('https:') === true ||
      auth?.secureSession === true ||
      config.http.tls !== undefined,
    failDelayMs: auth?.failDelay ?? 0,
    sessionTtlMs: SESSION_TTL_MS,
    signInTtlMs: SIGN_IN_TTL_MS,
    callbackOrigins: [
      ...(externalOrigin === undefined ? [] : [externalOrigin]),
      ...(openid?.callbackAllowOrigins ?? []),
    ],
    apiKeysEnabled: auth?.apikey === true,
    canAuthenticate:
      auth !== undefined && (auth.htpasswd !== undefined || auth.apikey || openid !== undefined),
    metricsPath:
      config.extensions?.metrics?.enable === true ? config.extensions.metrics.prometheus.path : undefined,
  };
}

export async function openAuthServices(ctx: Omit<AppContext, 'access'>): Promise<AuthServices> {
  const { config, db, log } = ctx;
  const settings = authSettings(config);
  const now = (): Date => new Date();
  migrateAuthTables(db);
  const policy = compilePolicy(config.http.accessControl, {
    authenticationConfigured: authenticationConfigured(config),
  });
  const htpasswdPath = config.http.auth?.htpasswd?.path;
  const htpasswd =
    htpasswdPath === undefined
      ? undefined
      : await HtpasswdFile.open(htpasswdPath, { logger: log.child({ component: 'htpasswd' }) });
  const apiKeys = settings.apiKeysEnabled ? new ApiKeyStore(db) : undefined;
  const users = new UserStore(db);
  const sessions = new SessionStore(db);
  const tokens = new RegistryTokens({ key: loadSigningKey(db, now()), service: settings.service });
  const authenticator = new Authenticator({
    htpasswd,
    apiKeys,
    users,
    sessions,
    tokens,
    origins: new UserOriginStore(db),
    // A whole office behind one NAT shares an address: allow it more failures than one user name.
    addressThrottle: new FailureThrottle({ maxFailures: 30, windowMs: 60_000 }),
    userThrottle: new FailureThrottle({ maxFailures: 10, windowMs: 60_000 }),
    now,
  });

  const providers = new Map<string, OidcRelyingParty>();
  const oidcLog = log.child({ component: 'oidc' });
  for (const [name, provider] of Object.entries(config.http.auth?.openid?.providers ?? {})) {
    if (!(OPENID_PROVIDERS as readonly string[]).includes(name) || provider.issuer === undefined) {
      log.warn(
        { provider: name },
        'sign-in provider not supported (only OpenID Connect providers are); ignored',
      );
      continue;
    }
    providers.set(
      name,
      new OidcRelyingParty(
        {
          provider: name,
          issuer: provider.issuer,
          clientId: provider.clientid,
          clientSecret:
            provider.clientsecret === undefined || provider.clientsecret === ''
              ? undefined
              : provider.clientsecret,
          scopes: provider.scopes,
          claimMapping: { username: provider.claimMapping.username, groups: provider.claimMapping.groups },
        },
        { log: oidcLog },
      ),
    );
  }

  return {
    settings,
    policy,
    htpasswd,
    apiKeys,
    users,
    sessions,
    signIns: new LoginStateStore(db),
    tokens,
    authenticator,
    providers,
    audit: auditLogFor(ctx),
    log: log.child({ component: 'auth' }),
    now,
    close: () => htpasswd?.close(),
  };
}
