/**
 * The sync extension (`extensions.sync`): a pull-through cache for the registries with
 * `onDemand`, and periodic mirroring for those with `content` and a `pollInterval`. Not
 * registered when the section is absent, disabled, or lists no registry. See docs/sync.md.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Extension, ExtensionFactory } from '../extensions.js';
import type { RequestRecord } from '../http/server.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import { META_DIR } from '../registry/layout.js';
import type { StorageDriver } from '../storage/driver.js';
import { FilesystemDriver } from '../storage/fs/driver.js';
import { SyncMetrics } from './metrics.js';
import { OnDemandCache } from './on-demand.js';
import { PeriodicSync } from './periodic.js';
import { buildRoutes, syncConfigProblems } from './routes.js';

export { syncConfigProblems };
import type { TransportOptions } from './transport.js';

export { SyncMetrics } from './metrics.js';
export { OnDemandCache } from './on-demand.js';
export { PeriodicSync } from './periodic.js';

/** How long an upstream may take to accept a connection. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long an upstream may send nothing (before the response head, or within a body). */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

export interface SyncExtensionOptions {
  /** Where the counters go; by default the app's metrics registry, which `/metrics` serves. */
  metricsRegistry?: MetricsRegistry;
  connectTimeoutMs?: number;
  stallTimeoutMs?: number;
  /** How long an upstream URL that failed to answer is skipped (default 5 s). */
  cooldownMs?: number;
  /** Name resolution for upstream hosts (tests serve `registry-1.docker.io` from loopback). */
  lookup?: TransportOptions['lookup'];
}

/** Builds the sync extension's factory; `syncExtension` is the one the app registers. */
export function createSyncExtension(options: SyncExtensionOptions = {}): ExtensionFactory {
  return async (ctx): Promise<Extension | undefined> => {
    const sync = ctx.config.extensions?.sync;
    if (!sync?.enable || sync.registries.length === 0) return undefined;
    const refused = syncConfigProblems(sync);
    if (refused) throw refused;

    const log = ctx.log.child({ component: 'sync' });
    const metrics = new SyncMetrics(options.metricsRegistry ?? metricsFor(ctx.registry).registry);
    const routes = buildRoutes(sync, {
      log,
      metrics,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      ...(options.cooldownMs === undefined ? {} : { cooldownMs: options.cooldownMs }),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    // Blobs in transit live on local disk (downloadDir, as zot needs with remote storage), never in
    // the repository folders. Each process spools in its own folder; at start only the folders of
    // processes that are gone are emptied, never a live neighbour's.
    const spoolRoot =
      sync.downloadDir ?? path.join(ctx.config.storage.rootDirectory, META_DIR, 'sync-downloads');
    await removeDeadSpools(spoolRoot);
    const spoolDir = path.join(spoolRoot, spoolFolderName(process.pid));
    await rm(spoolDir, { recursive: true, force: true });
    await mkdir(spoolDir, { recursive: true });

    const onDemandRoutes = routes.filter((r) => r.onDemand);
    const onDemand =
      onDemandRoutes.length > 0
        ? new OnDemandCache({
            registry: ctx.registry,
            log,
            metrics,
            routes: onDemandRoutes,
            spoolDir,
            coordination: ctx.coordination,
            ...spoolInStorage(ctx.registry.driver, spoolDir),
          })
        : undefined;
    const periodic = routes.flatMap((route) =>
      route.pollIntervalMs === undefined
        ? []
        : [new PeriodicSync({ registry: ctx.registry, log, route, pollIntervalMs: route.pollIntervalMs })],
    );
    log.info(
      {
        registries: routes.map((r) => ({
          upstream: r.upstream.name,
          onDemand: r.onDemand,
          pollInterval: r.pollIntervalMs,
          manifestCheckInterval: r.freshnessMs,
        })),
      },
      'sync extension configured',
    );

    return {
      name: 'sync',
      ...(onDemand
        ? { pullThrough: onDemand, onRequestEnd: (record: RequestRecord) => onDemand.observe(record) }
        : {}),
      start: () => {
        // Elected: one process mirrors each upstream; the first round right away, the next
        // pollInterval after each ends, retried with backoff when a round fails.
        for (const job of periodic)
          ctx.jobs.add({
            name: `sync-periodic-${job.routeIndex}`,
            intervalMs: job.pollIntervalMs,
            firstDelayMs: 0,
            elected: true,
            run: async () => void (await job.round()),
          });
      },
      stop: async () => {
        await Promise.allSettled([...periodic.map((job) => job.stop()), onDemand?.stop()]);
        for (const route of routes) route.upstream.close();
      },
    };
  };
}

/** One spool folder per process, named so that a later start can tell whether its owner lives. */
function spoolFolderName(pid: number): string {
  return `${hostname()}-${pid}`;
}

/** Whether a process of this machine is alive (EPERM: alive, owned by someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what processes of this machine that are gone left in the spool root, and loose files of
 * older versions; folders of other machines (a shared downloadDir) and of live processes stay.
 */
async function removeDeadSpools(root: string): Promise<void> {
  const prefix = `${hostname()}-`;
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const pid =
      entry.isDirectory() && entry.name.startsWith(prefix) ? Number(entry.name.slice(prefix.length)) : NaN;
    const mine = Number.isInteger(pid) && pid > 0;
    if (mine ? !isAlive(pid) : !entry.isDirectory())
      await rm(path.join(root, entry.name), { recursive: true, force: true });
  }
}

/**
 * The spool folder as a storage path, when it lies inside a filesystem storage's root (the
 * default): verified downloads are then renamed into place rather than copied.
 */
function spoolInStorage(driver: StorageDriver, spoolDir: string): { spoolStoragePath?: string } {
  if (!(driver instanceof FilesystemDriver)) return {};
  const relative = path.relative(driver.root, path.resolve(spoolDir));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return {};
  return { spoolStoragePath: relative.split(path.sep).join('/') };
}

/** The sync extension as the app registers it. */
export const syncExtension: ExtensionFactory = createSyncExtension();
