/**
 * Builds a Berth server from a configuration without listening: storage, metadata database,
 * registry services, access control, extensions, routes. `cli/` listens and handles signals.
 */
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { V2Deps } from './http/v2/deps.js';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config, ConfigError } from './config/index.js';
import type { MetadataStore } from './meta/store.js';
import type { Coordination } from './coordination/coordination.js';
import { JobRunner } from './coordination/jobs.js';
import { metricsFor } from './metrics/berth-metrics.js';
import type { Registry } from './registry/registry.js';
import { openRegistry, usesObjectStore } from './open-registry.js';
import { META_DIR } from './registry/layout.js';
import { createHttpServer, type PlainRoute } from './http/server.js';
import { BerthAccessGuard, createAccessGuard, openAccess, type AccessGuard } from './http/access.js';
import { prepareAuthReload, type PreparedReload } from './http/ext/auth-services.js';
import { CertificateWatcher, readTlsFiles } from './http/tls.js';
import { changesNeedingRestart } from './config/reload.js';
import { ConfigError as ConfigErrorClass } from './config/errors.js';
import { authExtension } from './http/ext/auth-extension.js';
import { healthRoutes, readinessCheck } from './http/health.js';
import type { AppContext, Extension, ExtensionFactory } from './extensions.js';
import { syncConfigProblems, syncExtension } from './sync/index.js';
import { uiExtension } from './ui/extension.js';
import { metricsExtension } from './metrics/extension.js';
import { gcExtension } from './gc/extension.js';
import { scrubExtension } from './scrub/extension.js';
import { auditExtension } from './audit/extension.js';
import { searchExtension } from './search/extension.js';
import { cveScanner } from './search/cve/index.js';

/** How often tombstones of finished upload sessions are purged. */
const UPLOAD_TOMBSTONE_PURGE_MS = 15 * 60 * 1000;

/**
 * Every extension Berth has, in the order their routes are tried. Each factory returns undefined
 * when its configuration leaves it off.
 */
const EXTENSIONS: ExtensionFactory[] = [
  authExtension,
  metricsExtension(),
  uiExtension,
  searchExtension({ vulnerabilities: cveScanner }),
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
  const driverName = config.storage.storageDriver?.['name'];
  if (driverName !== undefined && !usesObjectStore(config.storage)) {
    return ConfigErrorClass.at(
      ['storage', 'storageDriver', 'name'],
      `${JSON.stringify(driverName)} is not implemented; Berth serves from "s3" (or the filesystem without a storageDriver)`,
    );
  }
  const postgres = config.storage.remoteCache && config.storage.cacheDriver?.['name'] === 'postgres';
  if (usesObjectStore(config.storage) && !postgres) {
    // Every replica must share the metadata: the content-addressed layout keeps repository
    // membership, manifests and tags only there, and an embedded SQLite file is one machine's.
    return ConfigErrorClass.at(
      ['storage', 'cacheDriver'],
      'S3 storage (storageDriver name "s3") needs the PostgreSQL metadata store: set storage.remoteCache: true and storage.cacheDriver: {"name": "postgres", "url": ...} (or BERTH_POSTGRES_URL); S3 with the embedded SQLite metadata is not a supported combination',
    );
  }
  const sync = config.extensions?.sync;
  return sync?.enable ? syncConfigProblems(sync) : undefined;
}

/** Builds the access guard from `http.auth` and `http.accessControl`. */
export type AccessFactory = (ctx: Omit<AppContext, 'access'>) => AccessGuard | Promise<AccessGuard>;
const defaultAccess: AccessFactory = createAccessGuard;

export interface App {
  /** The configuration in force (replaced by `reload`). */
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
  /**
   * Applies a new configuration's reloadable parts (`RELOADABLE_KEYS`: access control, htpasswd,
   * API keys, OpenID, mTLS, TLS files, sync) without dropping a connection: everything is built
   * first and swapped in at once, or nothing changes (it throws, naming the key when it can).
   * Returns the changed keys that need a restart, which it left as they were.
   */
  reload(next: Config): Promise<string[]>;
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
  const refused = configRefusals(config);
  if (refused && usesObjectStore(config.storage)) throw refused;
  const { meta, coordination, registry } = await openRegistry(
    config,
    log,
    options.sqlitePragmas ? { sqlitePragmas: options.sqlitePragmas } : {},
  );
  // Local state (readiness probe, token signing keys) stays in rootDirectory/_berth, also when the
  // blobs are in an object store.
  await mkdir(path.join(root, META_DIR), { recursive: true });
  if (usesObjectStore(config.storage) && config.http.auth !== undefined && !process.env.BERTH_TOKEN_SECRET) {
    // Measured (test/e2e/replicas-s3.test.ts): a token minted by one replica is refused by another
    // whose key file differs, so credentialed pushes through a load balancer fail.
    log.warn(
      { keyFile: path.join(root, META_DIR) },
      'S3 replicas must share the token signing key: set BERTH_TOKEN_SECRET (the same on every replica) or give them the same rootDirectory/_berth key file',
    );
  }
  const metrics = metricsFor(registry);
  const jobs = new JobRunner({
    log: log.child({ module: 'jobs' }),
    coordination,
    onFailure: (job) => metrics.backgroundJobFailures.inc({ job }),
    ...(options.leaseTtlMs !== undefined ? { leaseTtlMs: options.leaseTtlMs } : {}),
  });
  // Tombstones of finished upload sessions, once their ids are refused anyway: shared state, one
  // process purges for all.
  jobs.add({
    name: 'upload-tombstone-purge',
    intervalMs: UPLOAD_TOMBSTONE_PURGE_MS,
    elected: true,
    run: async () => void (await registry.uploads.purgeFinished(Date.now())),
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
  const v2: V2Deps = { registry, access };
  // Routes, pull-through and observers follow the extension list, which a reload may change (sync).
  const health = routes[0]!;
  const rewire = (): void => {
    routes.splice(0, routes.length, health, ...extensions.flatMap((e) => e.routes ?? []));
    const pullThrough = extensions.map((e) => e.pullThrough).find((p) => p !== undefined);
    if (pullThrough) v2.pullThrough = pullThrough;
    else delete v2.pullThrough;
  };
  rewire();
  const tlsFiles = config.http.tls;
  const server = createHttpServer({
    log,
    access,
    v2,
    routes,
    rateLimit: config.http.ratelimit,
    throttles: meta.throttles,
    trustedProxies: config.http.trustedProxies,
    onRequestEnd: (record) => {
      for (const e of extensions) e.onRequestEnd?.(record);
    },
    tls: tlsFiles === undefined ? undefined : { files: tlsFiles, options: readTlsFiles(tlsFiles) },
  });
  const certificates =
    tlsFiles === undefined ? undefined : new CertificateWatcher(server as HttpsServer, tlsFiles, log);
  let current = config;

  const reload = async (next: Config): Promise<string[]> => {
    const prepared: PreparedReload[] = [];
    try {
      if (access instanceof BerthAccessGuard) {
        prepared.push(await prepareAuthReload(access.services, base, next));
      } else if (
        access === openAccess &&
        (next.http.auth !== undefined || next.http.accessControl !== undefined)
      ) {
        throw ConfigErrorClass.at(['http', 'auth'], 'turning authentication on needs a restart');
      }
      let nextSync: Extension | undefined;
      const syncChanged = JSON.stringify(next.extensions?.sync) !== JSON.stringify(current.extensions?.sync);
      if (syncChanged && (options.extensions ?? EXTENSIONS).includes(syncExtension)) {
        nextSync = await syncExtension({ ...ctx, config: next });
      }
      for (const p of prepared) p.commit();
      if (syncChanged) {
        const at = extensions.findIndex((e) => e.name === 'sync');
        const previous = at === -1 ? undefined : extensions[at];
        if (at !== -1) extensions.splice(at, 1);
        if (nextSync) extensions.splice(at === -1 ? extensions.length : at, 0, nextSync);
        rewire();
        await previous?.stop?.();
        if (started) await nextSync?.start?.();
      }
    } catch (err) {
      for (const p of prepared) p.discard();
      throw err;
    }
    if (certificates && next.http.tls) certificates.reload(next.http.tls);
    const needRestart = changesNeedingRestart(current, next);
    const tls = current.http.tls && next.http.tls ? next.http.tls : current.http.tls;
    current = {
      ...current,
      http: { ...current.http, accessControl: next.http.accessControl, auth: next.http.auth, tls },
    };
    if (next.extensions?.sync !== undefined || current.extensions?.sync !== undefined)
      current = { ...current, extensions: { ...current.extensions, sync: next.extensions?.sync } };
    return needRestart;
  };

  const result = await registry.reconcile();
  log.info(result, 'metadata index reconciled with storage');

  return {
    get config() {
      return current;
    },
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
      certificates?.start();
      started = true;
      return address;
    },
    close: async (graceMs = 30_000) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      certificates?.stop();
      await closed;
      clearTimeout(timer);
      await jobs.stop();
      for (const e of extensions) await e.stop?.();
      await meta.close();
    },
    reload,
  };
}
