/**
 * `extensions.sync`: the pull-through cache and mirroring of upstream registries (zot-behavior §5).
 * Defaults follow zot: `enable` true when absent, `tlsVerify` true, `syncTimeout` 3h,
 * `syncLegacyCosignTags` true.
 */
import { z } from 'zod';

import type { RegistryCredentials } from '../secrets.js';
import { bool, driverParams, duration, float, glob, int, optionalText, regexp, strList } from './scalars.js';

/** zot's `DefaultSyncTimeout`: the whole-image budget of one sync. */
export const DEFAULT_SYNC_TIMEOUT_MS = 3 * 3_600_000;

const contentSchema = z.strictObject({
  /** Upstream repository glob (`**`, `library/*`). */
  prefix: glob(),
  /** Local namespace the matches land under, e.g. `/docker.io`. */
  destination: optionalText(),
  stripPrefix: bool().default(false),
  /** Tag filters; zot applies them to periodic sync only, never on demand. */
  tags: z
    .strictObject({
      regex: regexp().optional(),
      excludeRegex: regexp().optional(),
      semver: bool().optional(),
    })
    .optional(),
});

const registrySchema = z
  .strictObject({
    /** The first URL is the registry, the others are mirrors of it. */
    urls: strList(),
    onDemand: bool().default(false),
    /** Periodic sync interval; periodic sync needs `content` too. */
    pollInterval: duration().optional(),
    content: z
      .array(contentSchema)
      .optional()
      .transform((list) => list ?? []),
    tlsVerify: bool().default(true),
    certDir: optionalText(),
    maxRetries: int(0).optional(),
    retryDelay: duration().optional(),
    maxRetryDelay: duration().optional(),
    onlySigned: bool().default(false),
    syncLegacyCosignTags: bool().default(true),
    /** `ecr`, or ([HEAD] zot) `gcp` / `oauth2`. */
    credentialHelper: optionalText(),
    oauth2CredentialHelper: driverParams().optional(),
    /** Keep upstream bytes (no Docker → OCI conversion); zot requires `http.compat` for it. */
    preserveDigest: bool().default(false),
    syncTimeout: duration()
      .optional()
      .transform((ms) => (ms === undefined || ms === 0 ? DEFAULT_SYNC_TIMEOUT_MS : ms)),
    /** How long an on-demand tag check stays fresh ([HEAD] zot); needs `onDemand`. */
    manifestCheckInterval: duration().optional(),
    reqConcurrent: int(1).optional(),
    reqPerSec: float().optional(),
    disableHTTP2: bool().optional(),
    maxIdleConnsPerHost: int(1).optional(),
  })
  .superRefine((registry, ctx) => {
    if (registry.urls.length === 0)
      ctx.addIssue({ code: 'custom', path: ['urls'], message: 'needs at least one URL' });
    registry.urls.forEach((url, index) => {
      if (!URL.canParse(url))
        ctx.addIssue({ code: 'custom', path: ['urls', index], message: `not a URL: ${JSON.stringify(url)}` });
    });
    if (registry.maxRetries !== undefined && registry.retryDelay === undefined) {
      ctx.addIssue({ code: 'custom', path: ['retryDelay'], message: 'required when maxRetries is set' });
    }
    if (registry.maxRetryDelay !== undefined) {
      if (registry.retryDelay === undefined) {
        ctx.addIssue({ code: 'custom', path: ['retryDelay'], message: 'required when maxRetryDelay is set' });
      } else if (registry.maxRetryDelay < registry.retryDelay) {
        ctx.addIssue({ code: 'custom', path: ['maxRetryDelay'], message: 'must be at least retryDelay' });
      }
    }
    if (
      registry.manifestCheckInterval !== undefined &&
      registry.manifestCheckInterval > 0 &&
      !registry.onDemand
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['manifestCheckInterval'],
        message: 'requires onDemand to be true',
      });
    }
    if (registry.reqPerSec !== undefined && registry.reqPerSec <= 0) {
      ctx.addIssue({ code: 'custom', path: ['reqPerSec'], message: 'must be greater than 0' });
    }
    if (registry.credentialHelper === 'oauth2' && registry.oauth2CredentialHelper === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['oauth2CredentialHelper'],
        message: 'required when credentialHelper is "oauth2"',
      });
    }
    registry.content.forEach((content, index) => {
      if (content.stripPrefix && content.destination === '/' && !content.prefix.includes('/*')) {
        ctx.addIssue({
          code: 'custom',
          path: ['content', index, 'stripPrefix'],
          message: 'with destination "/" the prefix must contain a glob such as "/*"',
        });
      }
    });
  });

const noCredentials = (): RegistryCredentials => ({});

/** The `extensions.sync` section. */
export const syncSchema = z
  .strictObject({
    enable: bool().default(true),
    /** JSON file `{"host[:port]": {"username": "...", "password": "..."}}`, read at load time. */
    credentialsFile: optionalText(),
    /** Staging folder for images before they are committed (zot needs it with remote storage). */
    downloadDir: optionalText(),
    registries: z
      .array(registrySchema)
      .optional()
      .transform((list) => list ?? []),
  })
  // Filled in from credentialsFile by the loader; keyed by host[:port] exactly as in the URLs.
  .transform((sync) => ({ ...sync, credentials: noCredentials() }));

export type SyncConfig = z.output<typeof syncSchema>;
export type SyncRegistryConfig = SyncConfig['registries'][number];
export type SyncContentConfig = SyncRegistryConfig['content'][number];
