/**
 * `storage` (and each `storage.subPaths` entry): where repositories live and how they are kept
 * clean. Defaults follow zot's `applyDefaultValues`: dedupe and GC on, `gcDelay` and `gcInterval`
 * 1h, but both 0 when GC is turned off and they are not given; retention `delay` := `gcDelay`;
 * `deleteUntagged` := true per policy.
 */
import { z } from 'zod';

import {
  bool,
  driverParams,
  duration,
  globList,
  int,
  map,
  optionalText,
  regexpList,
  str,
} from './scalars.js';
import { postgresDriverProblems } from './postgres.js';
import { s3DriverProblems } from './s3.js';

const HOUR_MS = 3_600_000;

/** Default `gcDelay` and `gcInterval` (zot's `DefaultGCDelay` / `DefaultGCInterval`). */
export const DEFAULT_GC_DELAY_MS = HOUR_MS;
export const DEFAULT_GC_INTERVAL_MS = HOUR_MS;

/** Rules that keep a tag (or untagged manifest); a count of 0 means the rule is not used. */
const keepRules = {
  pulledWithin: duration().optional(),
  pushedWithin: duration().optional(),
  mostRecentlyPushedCount: int(0).default(0),
  mostRecentlyPulledCount: int(0).default(0),
};

const keepTagsSchema = z.strictObject({
  /** Unanchored Go regexes; empty = every tag. */
  patterns: regexpList()
    .optional()
    .transform((list) => list ?? []),
  ...keepRules,
});

const retentionPolicySchema = z.strictObject({
  repositories: globList()
    .optional()
    .transform((list) => list ?? []),
  deleteReferrers: bool().default(false),
  deleteUntagged: bool().default(true),
  keepTags: z
    .array(keepTagsSchema)
    .optional()
    .transform((list) => list ?? []),
  keepUntagged: z.strictObject(keepRules).optional(),
});

const retentionSchema = z.strictObject({
  dryRun: bool().default(false),
  /** Minimum age of untagged manifests and referrers before retention removes them; := gcDelay. */
  delay: duration().optional(),
  policies: z
    .array(retentionPolicySchema)
    .optional()
    .transform((list) => list ?? []),
});

/** A daily UTC window such as `"01:00-08:00"`, as minutes after midnight. */
const gcTimeWindow = () =>
  str().transform((text, ctx) => {
    const match = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
    const minutes = match?.slice(1).map(Number) ?? [];
    const [sh = NaN, sm = NaN, eh = NaN, em = NaN] = minutes;
    if (!match || sh > 23 || eh > 23 || sm > 59 || em > 59) {
      ctx.addIssue({
        code: 'custom',
        message: `expected "HH:MM-HH:MM" (24-hour UTC), got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    const window = { startMinute: sh * 60 + sm, endMinute: eh * 60 + em };
    if (window.startMinute === window.endMinute) {
      ctx.addIssue({ code: 'custom', message: 'start and end of the window cannot be equal' });
      return z.NEVER;
    }
    return window;
  });

/** Keys shared by the main store and every subpath store. */
const storeShape = {
  /** Local folder of the store; with a remote storageDriver it holds only local state, default ".". */
  rootDirectory: optionalText(),
  dedupe: bool().default(true),
  /** fsync every write. */
  commit: bool().default(false),
  gc: bool().default(true),
  gcDelay: duration().optional(),
  gcInterval: duration().optional(),
  gcTimeWindow: gcTimeWindow().optional(),
  retention: retentionSchema.optional(),
  /** Maximum number of repositories; 0 = unlimited. */
  maxRepos: int(0).default(0),
  remoteCache: bool().optional(),
  redirectBlobURL: bool().default(false),
  storageDriver: driverParams().optional(),
  cacheDriver: driverParams().optional(),
};

type StoreInput = z.output<z.ZodObject<typeof storeShape>>;

/** Applies zot's GC/retention defaults, which depend on whether `gc` is on and what was given. */
function withStoreDefaults<T extends StoreInput>(store: T) {
  const gcDelay = store.gcDelay ?? (store.gc ? DEFAULT_GC_DELAY_MS : 0);
  const gcInterval = store.gcInterval ?? (store.gc ? DEFAULT_GC_INTERVAL_MS : 0);
  const retention = store.retention ?? { dryRun: false, delay: undefined, policies: [] };
  return {
    ...store,
    rootDirectory: store.rootDirectory ?? '.',
    gcDelay,
    gcInterval,
    // Remote stores keep their dedupe index in a remote cache unless told otherwise (zot does).
    remoteCache: store.remoteCache ?? (store.dedupe && store.storageDriver !== undefined),
    retention: { ...retention, delay: retention.delay ?? (store.gc ? gcDelay : 0) },
  };
}

const REMOTE_DRIVERS = ['s3', 'gcs', 'azure'];

function checkStore(store: StoreInput, ctx: z.RefinementCtx, subPath: boolean): void {
  if (store.rootDirectory === undefined && store.storageDriver === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['rootDirectory'],
      message: 'required: the folder repositories are stored in',
    });
  }
  const driverName = store.storageDriver?.['name'];
  if (store.storageDriver !== undefined && !REMOTE_DRIVERS.includes(String(driverName))) {
    ctx.addIssue({
      code: 'custom',
      path: ['storageDriver', 'name'],
      message: `must be one of ${REMOTE_DRIVERS.join(', ')}, got ${JSON.stringify(driverName ?? null)}`,
    });
  }
  if (store.storageDriver !== undefined && driverName === 's3') {
    for (const problem of s3DriverProblems(store.storageDriver)) {
      ctx.addIssue({ code: 'custom', path: ['storageDriver', ...problem.path], message: problem.message });
    }
  }
  if (store.cacheDriver?.['name'] === 'postgres') {
    for (const problem of postgresDriverProblems(store.cacheDriver)) {
      ctx.addIssue({ code: 'custom', path: ['cacheDriver', ...problem.path], message: problem.message });
    }
  }
  if (store.redirectBlobURL && store.storageDriver === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['redirectBlobURL'],
      message: 'needs a remote storageDriver (s3, gcs, azure)',
    });
  }
  if (subPath && store.gc && store.gcDelay !== undefined && store.gcDelay <= 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['gcDelay'],
      message: 'must be greater than 0 when gc is on in a subpath',
    });
  }
}

const subPathSchema = z
  .strictObject(storeShape)
  .superRefine((store, ctx) => checkStore(store, ctx, true))
  .transform(withStoreDefaults);

/** The `storage` section. `subPaths` keys are repository-name prefixes such as `/infra`. */
export const storageSchema = z
  .strictObject({
    ...storeShape,
    subPaths: map(subPathSchema)
      .optional()
      .transform((paths) => paths ?? {}),
    /** Skip the startup storage walk when nothing changed ([HEAD] zot). */
    fastRestart: bool().default(false),
  })
  .superRefine((store, ctx) => checkStore(store, ctx, false))
  .transform(withStoreDefaults);

export type StorageConfig = z.output<typeof storageSchema>;
export type SubPathStorageConfig = z.output<typeof subPathSchema>;
export type RetentionConfig = StorageConfig['retention'];
export type RetentionPolicy = RetentionConfig['policies'][number];
