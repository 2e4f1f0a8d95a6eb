/**
 * `http.auth`: how callers prove who they are. Secret side files (`credentialsFile`,
 * `sessionKeysFile`) are read after this schema has run (see `secrets.ts`); until then the values
 * they provide are empty.
 */
import { z } from 'zod';

import {
  bool,
  driverParams,
  duration,
  int,
  map,
  optionalText,
  regexp,
  str,
  strList,
  strListOrEmpty,
} from './scalars.js';

/** Provider keys zot accepts under `openid.providers`: three OpenID Connect ones and GitHub (OAuth2). */
export const OPENID_PROVIDERS = ['google', 'gitlab', 'oidc'] as const;
export const OAUTH2_PROVIDERS = ['github'] as const;

const providerSchema = z.strictObject({
  /** Button label in the web UI. */
  name: optionalText(),
  issuer: optionalText(),
  /** Filled in from `credentialsFile` when one is given (which is what zot recommends). */
  clientid: optionalText(),
  clientsecret: optionalText(),
  credentialsFile: optionalText(),
  /** Private key for `private_key_jwt` client authentication. */
  keypath: optionalText(),
  /** GitHub Enterprise endpoints. */
  authurl: optionalText(),
  tokenurl: optionalText(),
  scopes: strList().optional(),
  claimMapping: z
    .strictObject({
      /** UserInfo claim that becomes the user name. */
      username: optionalText().transform((claim) => claim ?? 'email'),
      /** Claim that lists the user's groups. */
      groups: optionalText().transform((claim) => claim ?? 'groups'),
    })
    .prefault({}),
});

const openidSchema = z
  .strictObject({
    providers: map(providerSchema)
      .optional()
      .transform((providers) => providers ?? {}),
    /** Extra absolute origins allowed in `callback_ui` after login ([HEAD] zot). */
    callbackAllowOrigins: strListOrEmpty(),
  })
  .superRefine((openid, ctx) => {
    for (const [name, provider] of Object.entries(openid.providers)) {
      const at = ['providers', name];
      const isOpenID = (OPENID_PROVIDERS as readonly string[]).includes(name);
      const isOAuth2 = (OAUTH2_PROVIDERS as readonly string[]).includes(name);
      if (!isOpenID && !isOAuth2) {
        ctx.addIssue({
          code: 'custom',
          path: at,
          message: `unsupported provider; the key must be one of ${[...OPENID_PROVIDERS, ...OAUTH2_PROVIDERS].join(', ')} (use "oidc" for any OpenID Connect provider)`,
        });
        continue;
      }
      if (isOpenID && provider.issuer === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'issuer'],
          message: 'required for an OpenID Connect provider',
        });
      }
      if (provider.scopes === undefined || provider.scopes.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'scopes'],
          message: 'required: list the scopes to request, e.g. ["openid", "email", "profile"]',
        });
      }
    }
  })
  .transform((openid) => ({
    ...openid,
    providers: Object.fromEntries(
      Object.entries(openid.providers).map(([name, provider]) => {
        const scopes = provider.scopes ?? [];
        // zot prepends "openid" for OpenID Connect providers; it means nothing to GitHub's OAuth2.
        const needsOpenID =
          (OPENID_PROVIDERS as readonly string[]).includes(name) && !scopes.includes('openid');
        return [
          name,
          {
            ...provider,
            clientid: provider.clientid ?? '',
            scopes: needsOpenID ? ['openid', ...scopes] : scopes,
          },
        ];
      }),
    ),
  }));

const ldapSchema = z
  .strictObject({
    address: optionalText(),
    port: int(0, 65535).optional(),
    startTLS: bool().default(false),
    insecure: bool().default(false),
    skipVerify: bool().default(false),
    subtreeSearch: bool().default(false),
    baseDN: optionalText(),
    userAttribute: optionalText(),
    userGroupAttribute: optionalText(),
    userFilter: optionalText(),
    caCert: optionalText(),
    /** JSON file `{"bindDN": "...", "bindPassword": "..."}`. */
    credentialsFile: optionalText(),
  })
  .superRefine((ldap, ctx) => {
    for (const key of ['address', 'baseDN', 'userAttribute'] as const) {
      if (ldap[key] === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: 'required for LDAP' });
    }
  })
  .transform((ldap) => ({
    ...ldap,
    bindDN: undefined as string | undefined,
    bindPassword: undefined as string | undefined,
  }));

const bearerOIDCSchema = z.strictObject({
  issuer: str(),
  audiences: strList(),
  claimMapping: z
    .strictObject({
      variables: z.array(z.strictObject({ name: str(), expression: str() })).optional(),
      validations: z.array(z.strictObject({ expression: str(), message: optionalText() })).optional(),
      username: optionalText(),
      groups: optionalText(),
    })
    .optional(),
  certificateAuthority: optionalText(),
  certificateAuthorityFile: optionalText(),
  skipIssuerVerification: bool().default(false),
});

const bearerSchema = z
  .strictObject({
    realm: optionalText(),
    service: optionalText(),
    cert: optionalText(),
    upstreamTokenEndpoint: z
      .strictObject({
        realm: optionalText(),
        service: optionalText(),
        allowInsecureHttp: bool().default(false),
      })
      .optional(),
    oidc: z.array(bearerOIDCSchema).optional(),
    awsSecretsManager: z
      .strictObject({
        region: optionalText(),
        secretName: optionalText(),
        refreshInterval: duration().optional(),
      })
      .optional(),
  })
  .superRefine((bearer, ctx) => {
    if (bearer.cert !== undefined && bearer.awsSecretsManager !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['awsSecretsManager'],
        message: 'cannot be used together with cert',
      });
    }
    const upstream = bearer.upstreamTokenEndpoint;
    if (upstream && (upstream.realm === undefined || upstream.service === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['upstreamTokenEndpoint'],
        message: 'realm and service must be set together',
      });
    }
    const asm = bearer.awsSecretsManager;
    for (const key of ['region', 'secretName'] as const) {
      if (asm && asm[key] === undefined)
        ctx.addIssue({ code: 'custom', path: ['awsSecretsManager', key], message: 'required' });
    }
  });

/** Identity attributes zot's mTLS authentication understands (case-insensitive). */
const MTLS_ATTRIBUTES = [
  'commonname',
  'cn',
  'subject',
  'dn',
  'email',
  'rfc822name',
  'uri',
  'url',
  'dnsname',
  'dns',
];

const mtlsSchema = z
  .strictObject({
    identityAttributes: strListOrEmpty(),
    uriSanPattern: regexp().optional(),
    uriSanIndex: int(0).default(0),
    dnsSanIndex: int(0).default(0),
    emailSanIndex: int(0).default(0),
  })
  .superRefine((mtls, ctx) => {
    const wanted = mtls.identityAttributes.map((a) => a.trim().toLowerCase());
    mtls.identityAttributes.forEach((attribute, index) => {
      if (!MTLS_ATTRIBUTES.includes(wanted[index] ?? '')) {
        ctx.addIssue({
          code: 'custom',
          path: ['identityAttributes', index],
          message: `unsupported identity attribute ${JSON.stringify(attribute)}`,
        });
      }
    });
    const usesUri = wanted.includes('uri') || wanted.includes('url');
    for (const key of ['uriSanIndex', 'dnsSanIndex', 'emailSanIndex', 'uriSanPattern'] as const) {
      const set = key === 'uriSanPattern' ? mtls[key] !== undefined : mtls[key] !== 0;
      if (set && !usesUri)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'only used with the URI/URL identity attribute',
        });
    }
  });

/** The `http.auth` section. */
export const authSchema = z
  .strictObject({
    /** Seconds in the file (zot's integer); milliseconds after parsing, like every other duration. */
    failDelay: int(0)
      .optional()
      .transform((seconds) => (seconds ?? 0) * 1000),
    /** Present only when `path` is non-empty (zot treats an empty path as "no htpasswd"). */
    htpasswd: z.strictObject({ path: optionalText() }).optional(),
    ldap: ldapSchema.optional(),
    bearer: bearerSchema.optional(),
    openid: openidSchema.optional(),
    /** API keys; forced on when `openid` is configured (zot does the same). */
    apikey: bool().default(false),
    /** JSON file `{"hashKey": "...", "encryptKey": "..."}` with the session cookie keys. */
    sessionKeysFile: optionalText(),
    sessionDriver: driverParams().optional(),
    /** Force `Secure` cookies even without `http.tls` (Berth behind a TLS proxy). */
    secureSession: bool().optional(),
    mtls: mtlsSchema.optional(),
  })
  .superRefine((auth, ctx) => {
    const driver = auth.sessionDriver;
    if (driver !== undefined) {
      const name = driver['name'];
      if (name !== 'local' && name !== 'redis') {
        ctx.addIssue({
          code: 'custom',
          path: ['sessionDriver', 'name'],
          message: `must be "local" or "redis", got ${JSON.stringify(name ?? null)}`,
        });
      } else if (name === 'redis' && auth.sessionKeysFile !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['sessionKeysFile'],
          message: 'not supported with the redis session driver',
        });
      }
    }
  })
  .transform(({ htpasswd, ...auth }) => ({
    ...auth,
    htpasswd: htpasswd?.path === undefined ? undefined : { path: htpasswd.path },
    apikey: auth.apikey || auth.openid !== undefined,
    sessionKeys: undefined as { hashKey: string; encryptKey?: string } | undefined,
  }));

export type AuthConfig = z.output<typeof authSchema>;
export type OpenIDConfig = NonNullable<AuthConfig['openid']>;
export type OpenIDProviderConfig = OpenIDConfig['providers'][string];
export type LDAPConfig = NonNullable<AuthConfig['ldap']>;
