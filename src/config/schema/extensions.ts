/**
 * `extensions`: optional features. As in zot, a block that is present without `enable` counts as
 * enabled; an absent block means the feature is off.
 */
import { z } from 'zod';

import { bool, duration, map, optionalText, str, strList, strListOrEmpty } from './scalars.js';
import { syncSchema } from './sync.js';

const HOUR_MS = 3_600_000;

/** zot never refreshes the CVE database or scrubs more often than this. */
export const MIN_BACKGROUND_INTERVAL_MS = 2 * HOUR_MS;
/** Default scrub interval. */
export const DEFAULT_SCRUB_INTERVAL_MS = 24 * HOUR_MS;
/** OSV's public bucket: the default `extensions.search.cve.osvUrl`. */
export const DEFAULT_OSV_URL = 'https://osv-vulnerabilities.storage.googleapis.com';
/** The OSV ecosystems whose packages Berth finds in images. */
export const DEFAULT_OSV_ECOSYSTEMS = ['Alpine', 'Debian', 'Ubuntu', 'npm', 'PyPI', 'Go'] as const;
/** Default metrics route. */
export const DEFAULT_METRICS_PATH = '/metrics';

const enableOnly = z.strictObject({ enable: bool().default(true) });

/** Why a metrics path is refused, or `undefined`; mirrors zot's `validateMetricsConfig`. */
function metricsPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with "/"';
  const segments = path.split('/').slice(1);
  const clean =
    path === '/' || segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..');
  if (!clean) return 'must be a clean path (no empty, "." or ".." segments, no trailing "/")';
  if (path === '/' || path === '/v2') return `cannot be ${JSON.stringify(path)}`;
  return undefined;
}

const metricsSchema = z.strictObject({
  enable: bool().default(true),
  prometheus: z
    .strictObject({
      path: str()
        .default(DEFAULT_METRICS_PATH)
        .superRefine((path, ctx) => {
          const why = metricsPathProblem(path);
          if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
        }),
    })
    .prefault({}),
});

const searchSchema = z.strictObject({
  enable: bool().default(true),
  cve: z
    .strictObject({
      /** Raised to 2h when lower, as zot does. */
      updateInterval: duration()
        .optional()
        .transform((ms) => Math.max(ms ?? 0, MIN_BACKGROUND_INTERVAL_MS)),
      /**
       * Berth's own: where OSV's per-ecosystem archives (`<osvUrl>/<Ecosystem>/all.zip`) are
       * downloaded from. Default: OSV's public bucket. zot's `trivy` keys are accepted and unused.
       */
      osvUrl: optionalText()
        .transform((url) => url ?? DEFAULT_OSV_URL)
        .superRefine((url, ctx) => {
          if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
            ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
          }
        }),
      /** Berth's own: which OSV ecosystems to download (default: every one Berth finds packages of). */
      osvEcosystems: strList()
        .optional()
        .transform((list) => (list === undefined || list.length === 0 ? [...DEFAULT_OSV_ECOSYSTEMS] : list)),
      trivy: z
        .strictObject({
          dbRepository: optionalText().transform((repo) => repo ?? 'ghcr.io/aquasecurity/trivy-db'),
          javaDBRepository: optionalText().transform((repo) => repo ?? 'ghcr.io/aquasecurity/trivy-java-db'),
          vulnSeveritySources: strList()
            .optional()
            .transform((sources) => (sources === undefined || sources.length === 0 ? ['auto'] : sources)),
          sbom: z.strictObject({ enable: bool().default(false), format: optionalText() }).optional(),
        })
        .prefault({}),
    })
    .optional(),
});

const scrubSchema = z.strictObject({
  enable: bool().default(true),
  /** Default 24h; raised to 2h when lower, as zot does. */
  interval: duration()
    .optional()
    .transform((ms) =>
      ms === undefined || ms === 0 ? DEFAULT_SCRUB_INTERVAL_MS : Math.max(ms, MIN_BACKGROUND_INTERVAL_MS),
    ),
});

const sinkSchema = z.strictObject({
  type: z.enum(['http', 'nats'], { error: 'must be "http" or "nats"' }),
  address: str(),
  channel: optionalText(),
  timeout: duration().optional(),
  proxy: optionalText(),
  headers: map(str()).optional(),
  credentials: z
    .strictObject({
      username: optionalText(),
      password: optionalText(),
      file: optionalText(),
      token: optionalText(),
    })
    .optional(),
  tlsConfig: z
    .strictObject({ caCertFile: optionalText(), certFile: optionalText(), keyFile: optionalText() })
    .optional(),
});

/** The `extensions` section. */
export const extensionsSchema = z.strictObject({
  metrics: metricsSchema.optional(),
  sync: syncSchema.optional(),
  /** GraphQL search and CVE scanning. The web UI does not need it in Berth (zot requires it). */
  search: searchSchema.optional(),
  ui: enableOnly.optional(),
  scrub: scrubSchema.optional(),
  lint: z.strictObject({ enable: bool().default(true), mandatoryAnnotations: strListOrEmpty() }).optional(),
  trust: z
    .strictObject({
      enable: bool().default(true),
      cosign: bool().default(false),
      notation: bool().default(false),
    })
    .optional(),
  events: z
    .strictObject({
      enable: bool().default(true),
      sinks: z
        .array(sinkSchema)
        .optional()
        .transform((list) => list ?? []),
    })
    .optional(),
  /** Redundant in zot (mgmt comes with search + ui); accepted and ignored. */
  mgmt: enableOnly.optional(),
  /** Superseded by `http.auth.apikey` in zot; accepted and ignored. */
  apikey: enableOnly.optional(),
});

export type ExtensionsConfig = z.output<typeof extensionsSchema>;
