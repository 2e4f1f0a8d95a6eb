/**
 * The whole zot configuration file: the single source of truth for every key Berth accepts. Objects
 * are strict (an unknown key is an error, as in zot's exact decoding); key spelling is
 * case-insensitive because the loader canonicalises keys to the spelling used here before parsing.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

import { accessControlSchema, grantsOnlyAnonymous } from './access-control.js';
import { authSchema } from './auth.js';
import { extensionsSchema } from './extensions.js';
import { duration, int, optionalText, port, str, strList, strListOrEmpty } from './scalars.js';
import { storageSchema } from './storage.js';

/** The distribution-spec version Berth implements (zot writes its own over whatever the file says). */
export const DIST_SPEC_VERSION = '1.1.1';

/** zerolog's level names, which zot's `log.level` takes (case-insensitive). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic', 'disabled'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Media-type compatibility modes for `http.compat`. */
export const COMPAT_MODES = ['docker2s2'] as const;

const tlsSchema = z.strictObject({
  cert: str(),
  key: str(),
  /** Turns on (optional) client-certificate authentication. */
  cacert: optionalText(),
});

const httpSchema = z
  .strictObject({
    address: optionalText().transform((address) => address ?? '127.0.0.1'),
    port: port().default(8080),
    /** Public origin (scheme://host[:port]) when Berth runs behind a proxy. */
    externalUrl: optionalText(),
    /** Realm in `WWW-Authenticate: Basic realm="…"`. */
    realm: optionalText(),
    /** CORS origin(s), comma separated; unset = `*`. */
    allowOrigin: optionalText(),
    /** Unset = no deadline (Berth uses idle/stall timeouts instead of zot HEAD's 60s). */
    readTimeout: duration().optional(),
    writeTimeout: duration().optional(),
    tls: tlsSchema.optional(),
    auth: authSchema.optional(),
    accessControl: accessControlSchema.optional(),
    ratelimit: z
      .strictObject({
        /** Requests per second for every route. */
        rate: int(1).optional(),
        methods: z
          .array(z.strictObject({ method: str(), rate: int(1) }))
          .optional()
          .transform((list) => list ?? []),
      })
      .optional(),
    /**
     * Berth only: peers whose `X-Forwarded-For` / `Forwarded` headers are believed (addresses or
     * CIDR ranges). None by default: the peer address is the client's.
     */
    trustedProxies: z
      .array(
        str().refine((entry) => {
          const [address = '', bits, extra] = entry.split('/');
          const family = isIP(address);
          if (family === 0 || extra !== undefined) return false;
          if (bits === undefined) return true;
          const n = Number(bits);
          return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
        }, 'must be an IP address or a CIDR range'),
      )
      .optional()
      .transform((list) => list ?? []),
    /** Accept Docker schema-2 manifests (`["docker2s2"]`); unknown modes are ignored with a warning. */
    compat: strListOrEmpty(),
  })
  .superRefine((http, ctx) => {
    if (http.auth?.mtls !== undefined && http.tls?.cacert === undefined) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'mtls'], message: 'needs http.tls with a cacert' });
    }
    if (
      http.accessControl !== undefined &&
      !hasAuthentication(http) &&
      !grantsOnlyAnonymous(http.accessControl)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['accessControl'],
        message:
          'grants access to users, but no authentication is configured (htpasswd, ldap, openid, apikey, bearer or mTLS); use only anonymousPolicy, or configure http.auth',
      });
    }
  });

function hasAuthentication(http: {
  tls?: { cacert?: string | undefined } | undefined;
  auth?: z.output<typeof authSchema> | undefined;
}): boolean {
  const auth = http.auth;
  if (http.tls?.cacert !== undefined) return true; // mTLS
  if (auth === undefined) return false;
  const bearer = auth.bearer;
  const bearerOn =
    bearer !== undefined &&
    ((bearer.realm !== undefined && bearer.service !== undefined) || (bearer.oidc?.length ?? 0) > 0);
  return (
    auth.htpasswd !== undefined ||
    auth.ldap !== undefined ||
    auth.openid !== undefined ||
    auth.apikey ||
    bearerOn
  );
}

const logSchema = z.strictObject({
  level: optionalText().transform((level, ctx): LogLevel => {
    const lower = (level ?? 'info').toLowerCase();
    if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
    ctx.addIssue({
      code: 'custom',
      message: `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
    });
    return z.NEVER;
  }),
  /** Log file; unset = standard output. */
  output: optionalText(),
  /** Audit log file (one line per mutating request). */
  audit: optionalText(),
});

const clusterSchema = z
  .strictObject({
    members: strList(),
    hashKey: str(),
    tls: tlsSchema.partial().optional(),
  })
  .superRefine((cluster, ctx) => {
    if (cluster.members.length === 0)
      ctx.addIssue({ code: 'custom', path: ['members'], message: 'needs at least one member' });
    if (cluster.hashKey.length !== 16)
      ctx.addIssue({ code: 'custom', path: ['hashKey'], message: 'must be exactly 16 characters' });
  });

/** The configuration file, as parsed: zot's keys, Berth's defaults, durations in milliseconds. */
export const configSchema = z
  .strictObject({
    distSpecVersion: optionalText().transform((version) => version ?? DIST_SPEC_VERSION),
    storage: storageSchema,
    http: httpSchema.prefault({}),
    log: logSchema.prefault({}),
    extensions: extensionsSchema.optional(),
    scheduler: z.strictObject({ numWorkers: int(1).optional() }).optional(),
    cluster: clusterSchema.optional(),
    // Build information zot's own Config struct carries, so zot accepts these keys; they mean nothing.
    goVersion: optionalText(),
    commit: optionalText(),
    releaseTag: optionalText(),
    binaryType: optionalText(),
  })
  .superRefine((config, ctx) => {
    const remote =
      config.storage.storageDriver !== undefined ||
      Object.values(config.storage.subPaths).some((store) => store.storageDriver !== undefined);
    // zot refuses CVE scanning with remote storage; Berth scans through the storage driver and keeps
    // scans in the metadata store every replica shares (docs/zot-compatibility.md), so it does not.
    const sync = config.extensions?.sync;
    if (remote && sync?.enable === true && sync.downloadDir === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['extensions', 'sync', 'downloadDir'],
        message: 'required when sync is used with remote storage (storageDriver)',
      });
    }
    sync?.registries.forEach((registry, index) => {
      if (registry.preserveDigest && !config.http.compat.includes('docker2s2')) {
        ctx.addIssue({
          code: 'custom',
          path: ['extensions', 'sync', 'registries', index, 'preserveDigest'],
          message: 'needs http.compat ["docker2s2"] (zot requires it)',
        });
      }
    });
  });

export type ParsedConfig = z.output<typeof configSchema>;
