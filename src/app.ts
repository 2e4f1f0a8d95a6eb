/**
 * Builds a Berth server from a configuration without listening: storage, metadata database,
 * registry services, access control, extensions, routes. `cli/` listens and handles signals.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config, ConfigError } from './config/index.js';
import { openMetadataStore } from './meta/open.js';
import { metadataLocation } from './config/metadata-location.js';
import type { MetadataStore } from './meta/store.js';
import type { Coordination } from './coordination/coordination.js';
import { JobRunner } from './coordination/jobs.js';
import { metricsFor } from './metrics/berth-metrics.js';
import { FilesystemDriver } from './storage/fs/driver.js';
import { Registry } from './registry/registry.js';
import { META_DIR } from './registry/layout.js';
import { createHttpServer, type PlainRoute } from './http/server.js';
import { createAccessGuard, type AccessGuard } from './http/access.js';
import { authExtension } from './http/ext/auth-extension.js';
import { healthRoutes, readinessCheck } from './http/health.js';
import type { AppContext, Extension, ExtensionFactory } from './extensions.js';
import { syncConfigProblems, syncExtension } from './sync/index.js';
import { uiExtension } from './ui/extension.js';
import { metricsExtension } from './metrics/extension.js';
import { gcExtension } from './gc/extension.js';
import { scrubExtension } from './scrub/extension.js';
import { auditExtension } from './audit/extension.js';

/**
 * Every extension Berth has, in the order their routes are tried. Each factory returns undefined
 * when its configuration leaves it off.
 */
const EXTENSIONS: ExtensionFactory[] = [
  authExtension,
  metricsExtension(),
  uiExtension,
  syncExtension,
  gcExtension(),
  scrubExtension(),
  auditExtension(),
];

/**
 * Settings that load (zot accepts them) but that Berth refuses to run with, because running
 * would silently do less than asked (sync restricted to signed images, say). `verify` and `serve`
 * both report them.
 */
export function configRefusals(config: Config): ConfigError | undefined {
  const sync = config.extensions?.sync;
  return sync?.enable ? syncConfigProblems(sync) : undefined;
}

/** Builds the access guard from `http.auth` and `http.accessControl`. */
export type AccessFactory = (ctx: Omit<AppContext, 'access'>) => AccessGuard | Promise<AccessGuard>;
const defaultAccess: AccessFactory = createAccessGuard;

export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly meta: MetadataStore;
  readonly coordination: Coordination;
  readonly jobs: JobRunner;
  readonly metaDir: string;
  readonly registry: Registry;
  readonly server: Server;
  readonly extensions: readonly Extension[];
  /** Listens on `http.address:http.port`, then starts background work; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then releases everything. */
  close(graceMs?: number): Promise<void>;
}

export interface BuildOptions {
  /** Replaces the list of extensions (tests of one extension). */
  extensions?: ExtensionFactory[];
  access?: AccessFactory;
  /** Raw pragmas for the SQLite store (tests: a tiny `max_page_count` makes the database full). */
  sqlitePragmas?: string[];
  /** Lease time to live of elected jobs (tests of takeover). */
  leaseTtlMs?: number;
}

export async function buildApp(config: Config, log: Logger, options: BuildOptions = {}): Promise<App> {
  const root = config.storage.rootDirectory;
  const driver = new FilesystemDriver(root);
  const { meta, coordination } = await openMetadataStore(metadataLocation(config, log, options.sqlitePragmas));
  const registry = new Registry({
    driver,
    index: meta.registryIndex,
    coordination,
    dedupe: config.storage.dedupe,
    log,
  });
  const metrics = metricsFor(registry);
  const jobs = new JobRunner({
    log: log.child({ module: 'jobs' }),
    coordination,
    onFailure: (job) => metrics.backgroundJobFailures.inc({ job }),
    ...(options.leaseTtlMs !== undefined ? { leaseTtlMs: options.leaseTtlMs } : {}),
  });
  let started = false;

  const base = { config, log, meta, coordination, jobs, metaDir: path.join(root, META_DIR), registry };
  const access = await (options.access ?? defaultAccess)(base);
  const ctx: AppContext = { ...base, access };
  const extensions: Extension[] = [];
  for (const factory of options.extensions ?? EXTENSIONS) {
    const extension = await factory(ctx);
    if (extension) extensions.push(extension);
  }

  const routes: PlainRoute[] = [
    healthRoutes({
      started: () => started,
      ready: readinessCheck(path.join(root, META_DIR), meta),
    }),
    ...extensions.flatMap((e) => e.routes ?? []),
  ];
  const pullThrough = extensions.map((e) => e.pullThrough).find((p) => p !== undefined);
  const observers = extensions.filter((e) => e.onRequestEnd !== undefined);
  const server = createHttpServer({
    log,
    access,
    v2: { registry, access, ...(pullThrough ? { pullThrough } : {}) },
    routes,
    rateLimit: config.http.ratelimit,
    onRequestEnd: (record) => {
      for (const e of observers) e.onRequestEnd!(record);
    },
  });

  const result = await registry.reconcile();
  log.info(result, 'metadata index reconciled with storage');

  return {
    config,
    log,
    meta,
    coordination,
    jobs,
    metaDir: base.metaDir,
    registry,
    server,
    extensions,
    listen: async () => {
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.address, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
      // Jobs first: an extension that adds a job while starting may wait for it to be scheduled.
      await jobs.start();
      for (const e of extensions) await e.start?.();
      started = true;
      return address;
    },
    close: async (graceMs = 30_000) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      await jobs.stop();
      for (const e of extensions) await e.stop?.();
      await meta.close();
    },
  };
}
