/**
 * Vulnerability scanning (`extensions.search.cve`), handed to the search extension as its
 * `VulnerabilityService`. Off unless the `cve` block is present, as in zot.
 */
import path from 'node:path';
import type { AppContext } from '../../extensions.js';
import type { CveScanStore } from '../../meta/cve-scans.js';
import { metricsFor } from '../../metrics/berth-metrics.js';
import { META_DIR } from '../../registry/layout.js';
import type { VulnerabilityProvider } from '../extension.js';
import type { Inventory } from './inventory/index.js';
import { OsvDatabase } from './osv-database.js';
import { VulnerabilityScanner } from './scanner.js';
import type { Vulnerability } from './types.js';

/** Where the OSV archives are kept, under the storage root. */
export const OSV_DIR = path.join(META_DIR, 'osv');

/** Whether the configuration asks for vulnerability scanning. */
export function scanningConfigured(ctx: Pick<AppContext, 'config'>): boolean {
  const search = ctx.config.extensions?.search;
  return search?.enable === true && search.cve !== undefined;
}

/** The stored scans, for readers that do not scan (the web UI). */
export function scanStore(ctx: Pick<AppContext, 'meta'>): CveScanStore<Inventory, Vulnerability> {
  return ctx.meta.cveScans as CveScanStore<Inventory, Vulnerability>;
}

export const cveScanner: VulnerabilityProvider = (ctx) => {
  const cve = ctx.config.extensions?.search?.cve;
  if (!scanningConfigured(ctx) || !cve) return undefined;
  const log = ctx.log.child({ component: 'cve' });
  const osv = new OsvDatabase({
    dir: path.join(ctx.config.storage.rootDirectory, OSV_DIR),
    baseUrl: cve.osvUrl,
    ecosystems: cve.osvEcosystems,
    log,
  });
  return new VulnerabilityScanner({
    registry: ctx.registry,
    store: scanStore(ctx),
    osv,
    log,
    metrics: metricsFor(ctx.registry).registry,
    updateIntervalMs: cve.updateInterval,
  });
};
