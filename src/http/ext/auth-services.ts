/**
 * Everything authentication needs at run time, built once from the configuration: the compiled
 * policy, the htpasswd file, the auth tables, the token issuer, the OpenID relying parties, and
 * the settings the HTTP layer applies (cookies, realm, delays).
 */
import type { Logger } from 'pino';
import { auditLogFor, type AuditLog } from '../../audit/audit-log.js';
import { Authenticator } from '../../auth/authenticator.js';
import { authenticationConfigured } from '../../auth/authentication-configured.js';
import { HtpasswdFile } from '../../auth/authn/htpasswd.js';
import type { ThrottleBuckets } from '../../meta/throttle-buckets.js';
import { SharedThrottle } from '../../auth/authn/throttle.js';
import { DEFAULT_MTLS, type MtlsSettings } from '../../auth/authn/mtls.js';
import { compilePolicy, type Policy } from '../../auth/authz/policy.js';
import { OidcRelyingParty } from '../../auth/oidc/relying-party.js';
import type { ApiKeyStore, LoginStateStore, SessionStore, UserStore } from '../../auth/store/index.js';
import { loadSigningKeys, reloadSigningKeys } from '../../auth/tokens/signing-keys.js';
import { RegistryTokens } from '../../auth/tokens/registry-tokens.js';
import { OPENID_PROVIDERS, type Config } from '../../config/index.js';
import type { ApiKeyGroups } from '../../meta/api-key-groups.js';
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

/**
 * The auth services. The fields a configuration reload replaces (`reloadAuthServices`) are
 * mutable, and read at request time, never captured: settings, policy, htpasswd, apiKeys,
 * authenticator, providers, mtls.
 */
export interface AuthServices {
  settings: AuthSettings;
  policy: Policy;
  htpasswd: HtpasswdFile | undefined;
  apiKeys: ApiKeyStore | undefined;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly signIns: LoginStateStore;
  readonly tokens: RegistryTokens;
  /** Throttle buckets every replica shares (sign-in starts; the password throttles are inside the authenticator). */
  readonly throttles: ThrottleBuckets;
  /** Groups admins gave service-account keys. */
  readonly keyGroups: ApiKeyGroups;
  authenticator: Authenticator;
  /** OpenID providers by their key under `openid.providers`. */
  providers: ReadonlyMap<string, OidcRelyingParty>;
  /** How client certificates name callers; undefined without `http.tls.cacert`. */
  mtls: MtlsSettings | undefined;
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

/** zot's `http.auth.mtls` settings, when client certificates are on (`http.tls.cacert`). */
export function mtlsSettings(config: Config): MtlsSettings | undefined {
  if (config.http.tls?.cacert === undefined) return undefined;
  const mtls = config.http.auth?.mtls;
  return mtls === undefined ? DEFAULT_MTLS : { ...mtls };
}

/** The pieces of the auth services a configuration decides, built fresh (startup and reload). */
export interface ConfiguredAuth {
  settings: AuthSettings;
  policy: Policy;
  htpasswd: HtpasswdFile | undefined;
  apiKeys: ApiKeyStore | undefined;
  authenticator: Authenticator;
  providers: Map<string, OidcRelyingParty>;
  mtls: MtlsSettings | undefined;
}

/**
 * Builds what `config` decides. `reuseHtpasswd` is the running file, kept when the path is the same
 * (it already watches its file). Throws (ConfigError, or a file error) without side effects on
 * the running services.
 */
export async function configuredAuth(
  ctx: Omit<AppContext, 'access'>,
  config: Config,
  stores: {
    users: UserStore;
    sessions: SessionStore;
    tokens: RegistryTokens;
    keyGroups: ApiKeyGroups;
    now: () => Date;
  },
  reuseHtpasswd?: HtpasswdFile,
): Promise<ConfiguredAuth> {
  const { meta, log } = ctx;
  const settings = authSettings(config);
  const policy = compilePolicy(config.http.accessControl, {
    authenticationConfigured: authenticationConfigured(config),
  });
  const htpasswdPath = config.http.auth?.htpasswd?.path;
  const htpasswd =
    htpasswdPath === undefined
      ? undefined
      : reuseHtpasswd !== undefined && reuseHtpasswd.path === htpasswdPath
        ? reuseHtpasswd
        : await HtpasswdFile.open(htpasswdPath, { logger: log.child({ component: 'htpasswd' }) });
  const apiKeys = settings.apiKeysEnabled ? meta.apiKeys : undefined;
  const authenticator = new Authenticator({
    htpasswd,
    apiKeys,
    users: stores.users,
    sessions: stores.sessions,
    tokens: stores.tokens,
    origins: meta.userOrigins,
    // Shared by every replica (the metadata store). A whole office behind one NAT shares an
    // address: allow it more guesses than one user name.
    addressThrottle: new SharedThrottle(meta.throttles, {
      name: 'pw-addr',
      maxAttempts: 30,
      windowMs: 60_000,
    }),
    userThrottle: new SharedThrottle(meta.throttles, { name: 'pw-user', maxAttempts: 10, windowMs: 60_000 }),
    keyGroups: stores.keyGroups,
    now: stores.now,
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
  return { settings, policy, htpasswd, apiKeys, authenticator, providers, mtls: mtlsSettings(config) };
}

/** How often drained throttle buckets are deleted. */
const THROTTLE_PURGE_MS = 60 * 1000;

/** How often expired sessions are deleted. */
const SESSION_PURGE_MS = 10 * 60 * 1000;

export async function openAuthServices(ctx: Omit<AppContext, 'access'>): Promise<AuthServices> {
  const { config, meta, log } = ctx;
  const now = (): Date => new Date();
  const { users, sessions } = meta;
  const keys = await loadSigningKeys(ctx.metaDir);
  const tokens = new RegistryTokens({
    key: keys.current,
    previous: keys.previous,
    service: authSettings(config).service,
    reload: () => reloadSigningKeys(ctx.metaDir),
  });
  // Shared state, so one process purges for all.
  ctx.jobs.add({
    name: 'session-purge',
    intervalMs: SESSION_PURGE_MS,
    elected: true,
    run: async () => void (await sessions.purgeExpired(now())),
  });
  // Throttle buckets that have drained empty: one process deletes them for all.
  ctx.jobs.add({
    name: 'throttle-purge',
    intervalMs: THROTTLE_PURGE_MS,
    elected: true,
    run: async () => void (await meta.throttles.purgeEmpty(Date.now())),
  });
  const keyGroups = meta.apiKeyGroups;
  const configured = await configuredAuth(ctx, config, { users, sessions, tokens, keyGroups, now });

  const services: AuthServices = {
    ...configured,
    users,
    sessions,
    signIns: meta.signIns,
    tokens,
    throttles: meta.throttles,
    keyGroups,
    audit: auditLogFor(ctx),
    log: log.child({ component: 'auth' }),
    now,
    close: () => services.htpasswd?.close(),
  };
  return services;
}

/** A reload prepared but not yet in force: `commit` swaps it in, `discard` drops it. */
export interface PreparedReload {
  commit(): void;
  discard(): void;
}

/**
 * Builds what a reloaded configuration decides (policy, htpasswd, API keys, OIDC providers, mTLS
 * settings, cookies and realm) next to the running services, to be swapped in by `commit` in one
 * step: a request sees the old set or the new set, never a mix. Sessions, users and the token
 * signing key carry over, and so do the password throttles (their buckets are in the metadata store).
 */
export async function prepareAuthReload(
  services: AuthServices,
  ctx: Omit<AppContext, 'access'>,
  config: Config,
): Promise<PreparedReload> {
  const next = await configuredAuth(
    { ...ctx, config },
    config,
    {
      users: services.users,
      sessions: services.sessions,
      tokens: services.tokens,
      keyGroups: services.keyGroups,
      now: () => services.now(),
    },
    services.htpasswd,
  );
  return {
    commit: () => {
      const previous = services.htpasswd;
      Object.assign(services, next);
      if (previous !== undefined && previous !== next.htpasswd) previous.close();
    },
    discard: () => {
      if (next.htpasswd !== undefined && next.htpasswd !== services.htpasswd) next.htpasswd.close();
    },
  };
}
