/**
 * The vulnerability scanner behind `VulnerabilityService`: reads the package inventory of every
 * image manifest pushed (in the background, a few at a time), matches it against the OSV data,
 * and stores both per manifest digest (`src/meta/cve-scans.ts`) where every process reads them.
 * The OSV data is refreshed every `cve.updateInterval`; when its version changes, stored scans are
 * redone from their inventories (no layer is read again). Failed jobs are logged, counted and
 * retried with a growing delay.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { CveScanStore, SeverityCounts, StoredScan } from '../../meta/cve-scans.js';
import { parseDigest } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import type { Registry } from '../../registry/registry.js';
import { UnsupportedLayerError } from './inventory/image-files.js';
import { scanInventory, type Inventory, type LayerSource } from './inventory/index.js';
import { matchInventory } from './matcher.js';
import type { OsvDatabase } from './osv-database.js';
import type { ImageScan, Vulnerability, VulnerabilityService } from './types.js';

/** Images read at once: each streams its layers through gunzip, which is CPU-bound. */
const DEFAULT_CONCURRENCY = 2;
const MAX_ATTEMPTS = 4;
const RETRY_BASE_MS = 15_000;
/** The start-up sweep for images never scanned queues at most this many at a time. */
const BACKFILL_BATCH = 100;
/** After a failed data update, the next try comes this soon (doubling, up to the update interval). */
const UPDATE_RETRY_MS = 10 * 60_000;
/** How long stopping waits for scans under way. */
const STOP_GRACE_MS = 10_000;

const IMAGE_MANIFESTS = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);
const IMAGE_CONFIGS = new Set<string>([MediaType.OciConfig, MediaType.DockerConfig]);

interface ImageManifest {
  mediaType?: string;
  config?: { mediaType?: string };
  layers?: { mediaType?: string; digest?: string }[];
}

export type ScanStore = CveScanStore<Inventory, Vulnerability>;

export interface ScannerOptions {
  registry: Registry;
  store: ScanStore;
  osv: OsvDatabase;
  log: Logger;
  metrics: PromRegistry;
  updateIntervalMs: number;
  concurrency?: number;
}

function counter<L extends string>(
  registry: PromRegistry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  return (
    (existing as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] })
  );
}

export function countsOf(vulnerabilities: Vulnerability[]): SeverityCounts {
  const counts: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const v of vulnerabilities) {
    if (v.severity === 'CRITICAL') counts.critical++;
    else if (v.severity === 'HIGH') counts.high++;
    else if (v.severity === 'MEDIUM') counts.medium++;
    else if (v.severity === 'LOW') counts.low++;
    else counts.unknown++;
  }
  return counts;
}

function toImageScan(stored: StoredScan<Vulnerability>): ImageScan {
  return {
    manifestDigest: stored.digest,
    scannedAt: new Date(stored.scannedAt),
    dataVersion: stored.dataVersion,
    vulnerabilities: stored.vulnerabilities,
  };
}

export class VulnerabilityScanner implements VulnerabilityService {
  readonly enabled = true;
  private readonly pending = new Map<string, string>();
  private readonly running = new Set<string>();
  private readonly attempts = new Map<string, number>();
  /** Images whose scan failed for good (or cannot be done): asked again only by a new push. */
  private readonly givenUp = new Set<string>();
  private readonly matching = new Map<string, Promise<StoredScan<Vulnerability> | undefined>>();
  private readonly concurrency: number;
  private readonly scans: Counter<'result'>;
  private readonly updates: Counter<'result'>;
  private updateTimer: NodeJS.Timeout | undefined;
  private updating: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failedUpdates = 0;
  private stopped = false;
  private readonly onPushed = (e: { repo: string; digest: string; mediaType: string }): void => {
    if (IMAGE_MANIFESTS.has(e.mediaType)) this.enqueue(e.repo, e.digest, true);
  };

  /** A manifest gone from every repository takes its inventory and scan with it (and out of the metrics). */
  private readonly onDeleted = (e: { repo: string; digest: string; tag?: string }): void => {
    if (e.tag !== undefined) return;
    const { registry, store } = this.options;
    registry.index
      .blobHolder(e.digest)
      .then((holder) => (holder !== undefined ? undefined : store.forget(e.digest)))
      .catch((err: unknown) =>
        this.options.log.warn({ err, digest: e.digest }, 'scan of a deleted manifest not dropped'),
      );
  };

  constructor(private readonly options: ScannerOptions) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const m = options.metrics;
    this.scans = counter(
      m,
      'berth_cve_scans_total',
      'Image scans for vulnerabilities, by result (success, failure, skipped)',
      ['result'],
    );
    this.updates = counter(
      m,
      'berth_cve_db_updates_total',
      'OSV data updates, by result (changed, unchanged, failure)',
      ['result'],
    );
    if (!m.getSingleMetric('berth_cve_vulnerabilities')) {
      const store = options.store;
      new Gauge({
        name: 'berth_cve_vulnerabilities',
        help: 'Vulnerabilities found in stored images (summed over scanned manifests), by severity',
        labelNames: ['severity'],
        registers: [m],
        async collect() {
          const totals = await store.totals();
          for (const [severity, n] of Object.entries(totals) as [string, number][])
            this.set({ severity: severity.toUpperCase() }, n);
        },
      });
    }
    if (!m.getSingleMetric('berth_cve_scan_queue')) {
      const queued = (): number => this.pending.size + this.running.size;
      new Gauge({
        name: 'berth_cve_scan_queue',
        help: 'Image scans waiting or running in this process',
        registers: [m],
        collect() {
          this.set(queued());
        },
      });
    }
  }

  async scanOf(repo: string, manifestDigest: string): Promise<ImageScan | undefined> {
    const { store, osv } = this.options;
    const version = osv.version;
    const stored = await store.scan(manifestDigest);
    if (stored && (version === undefined || stored.dataVersion === version)) return toImageScan(stored);
    const inventory = version === undefined ? undefined : await store.inventory(manifestDigest);
    if (inventory) {
      const fresh = await this.match(manifestDigest, inventory);
      if (fresh) return toImageScan(fresh);
    } else {
      this.enqueue(repo, manifestDigest);
    }
    return stored && toImageScan(stored);
  }

  /** Counts by severity of the stored scan of a manifest, without its list (listings). */
  async countsOf(manifestDigest: string): Promise<SeverityCounts | undefined> {
    return (await this.options.store.counts(manifestDigest))?.counts;
  }

  start(): void {
    this.options.registry.events.on('manifest-pushed', this.onPushed);
    this.options.registry.events.on('manifest-deleted', this.onDeleted);
    void this.startData();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.updateTimer);
    clearTimeout(this.retryTimer);
    this.options.registry.events.off('manifest-pushed', this.onPushed);
    this.options.registry.events.off('manifest-deleted', this.onDeleted);
    await this.updating;
    // Scans under way finish (or fail) before the database closes; a long one is cut off.
    const deadline = Date.now() + STOP_GRACE_MS;
    while ((this.running.size > 0 || this.matching.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.options.osv.close();
  }

  /** Queues a scan of an image (once, however often asked); `pushed` retries one given up on. */
  enqueue(repo: string, digest: string, pushed = false): void {
    if (pushed) this.givenUp.delete(digest);
    if (this.stopped || this.givenUp.has(digest) || this.running.has(digest) || this.pending.has(digest))
      return;
    this.pending.set(digest, repo);
    this.pump();
  }

  /** Resolves when no scan is queued or running (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.pending.size > 0 || this.running.size > 0 || this.matching.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Loads the stored data, then updates it now and every interval (sooner after a failure). */
  private async startData(): Promise<void> {
    const { osv, log } = this.options;
    try {
      await osv.loadFromDisk();
    } catch (err) {
      log.warn({ err }, 'stored OSV data not loaded');
    }
    if (this.stopped) return;
    // Inventories need no data: images never scanned are read while the data downloads.
    void this.backfill();
    await this.refresh();
    if (this.stopped) return;
    this.updateTimer = setInterval(() => void this.refresh(), this.options.updateIntervalMs);
    this.updateTimer.unref();
  }

  /** One data update; when the data changed, redoes the scans of the previous data. */
  async refresh(): Promise<void> {
    if (this.updating) return this.updating;
    this.updating = (async () => {
      try {
        const result = await this.options.osv.update();
        this.updates.inc({
          result: result.failed.length > 0 ? 'failure' : result.changed ? 'changed' : 'unchanged',
        });
        this.scheduleRetry(result.failed.length > 0);
        if (this.options.osv.version !== undefined) await this.rescanStale();
      } catch (err) {
        this.updates.inc({ result: 'failure' });
        this.options.log.warn({ err }, 'OSV data update failed');
        this.scheduleRetry(true);
      } finally {
        this.updating = undefined;
      }
    })();
    return this.updating;
  }

  /** A failed update is tried again before the next interval, sooner the fewer failures in a row. */
  private scheduleRetry(failed: boolean): void {
    clearTimeout(this.retryTimer);
    if (!failed) {
      this.failedUpdates = 0;
      return;
    }
    if (this.stopped) return;
    const delay = Math.min(UPDATE_RETRY_MS * 2 ** this.failedUpdates++, this.options.updateIntervalMs);
    this.retryTimer = setTimeout(() => void this.refresh(), delay);
    this.retryTimer.unref();
  }

  /** Rematches every stored inventory whose scan is not of the current data. */
  private async rescanStale(): Promise<void> {
    const { store, osv, log } = this.options;
    const failed = new Set<string>();
    for (;;) {
      const version = osv.version;
      if (version === undefined || this.stopped) return;
      const page = (await store.staleDigests(version, 100 + failed.size)).filter((d) => !failed.has(d));
      if (page.length === 0) return;
      for (const digest of page) {
        const inventory = await store.inventory(digest);
        if (!inventory || !(await this.match(digest, inventory))) failed.add(digest);
      }
      log.debug({ rescanned: page.length }, 'vulnerability scans redone for new OSV data');
    }
  }

  /** Queues every image manifest of the store that has no inventory yet, a batch at a time. */
  private async backfill(): Promise<void> {
    const { registry, store, log } = this.options;
    try {
      let after = '';
      for (;;) {
        const repos = await registry.index.catalog(after, 500);
        if (repos.length === 0 || this.stopped) return;
        for (const repo of repos) {
          for (const m of await registry.index.manifests(repo)) {
            if (!IMAGE_MANIFESTS.has(m.mediaType) || (await store.inventory(m.digest))) continue;
            while (this.pending.size >= BACKFILL_BATCH && !this.stopped)
              await new Promise((r) => setTimeout(r, 200));
            this.enqueue(repo, m.digest);
          }
        }
        after = repos[repos.length - 1]!;
      }
    } catch (err) {
      log.warn({ err }, 'vulnerability scan backfill stopped');
    }
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.pending.size > 0) {
      const [digest, repo] = this.pending.entries().next().value as [string, string];
      this.pending.delete(digest);
      this.running.add(digest);
      void this.run(repo, digest).finally(() => {
        this.running.delete(digest);
        this.pump();
      });
    }
  }

  private async run(repo: string, digest: string): Promise<void> {
    const { store, log } = this.options;
    try {
      let inventory = await store.inventory(digest);
      if (!inventory) {
        const started = Date.now();
        inventory = await this.inventoryOf(repo, digest);
        if (!inventory) {
          this.scans.inc({ result: 'skipped' });
          return;
        }
        await store.putInventory(digest, inventory);
        log.debug(
          { repo, digest, packages: inventory.packages.length, ms: Date.now() - started },
          'image inventory read',
        );
      }
      await this.match(digest, inventory, true);
      this.attempts.delete(digest);
      this.scans.inc({ result: 'success' });
    } catch (err) {
      if (err instanceof UnsupportedLayerError) {
        this.scans.inc({ result: 'skipped' });
        this.givenUp.add(digest);
        log.info({ repo, digest, reason: err.message }, 'image not scanned');
        return;
      }
      this.scans.inc({ result: 'failure' });
      const attempt = (this.attempts.get(digest) ?? 0) + 1;
      this.attempts.set(digest, attempt);
      if (attempt < MAX_ATTEMPTS && !this.stopped) {
        log.warn({ err, repo, digest, attempt }, 'vulnerability scan failed; will retry');
        setTimeout(() => this.enqueue(repo, digest), RETRY_BASE_MS * 2 ** (attempt - 1)).unref();
      } else {
        log.error(
          { err, repo, digest, attempt },
          'vulnerability scan failed; giving up until the image is pushed again',
        );
        this.attempts.delete(digest);
        this.givenUp.add(digest);
      }
    }
  }

  /** The inventory of an image manifest; undefined for manifests that are not images (artifacts, gone). */
  private async inventoryOf(repo: string, digest: string): Promise<Inventory | undefined> {
    const { registry } = this.options;
    const stored = await registry.manifests.resolve(repo, { kind: 'digest', digest: parseDigest(digest) });
    if (!stored || !IMAGE_MANIFESTS.has(stored.mediaType)) return undefined;
    const manifest = JSON.parse(
      (await registry.manifests.read(repo, stored)).toString('utf8'),
    ) as ImageManifest;
    if (!IMAGE_CONFIGS.has(manifest.config?.mediaType ?? '')) return { distro: null, packages: [] };
    const all = manifest.layers ?? [];
    const unsupported = all.find((layer) => layer.mediaType?.includes('zstd'));
    if (unsupported)
      throw new UnsupportedLayerError(`layer media type ${unsupported.mediaType} is not supported`);
    // Foreign (non-distributable) layers are usually not in the registry at all: Windows base layers.
    const layers: LayerSource[] = all
      .filter((layer) => !/foreign|nondistributable/.test(layer.mediaType ?? ''))
      .map((layer) => ({
        mediaType: layer.mediaType ?? '',
        open: () => this.blobStream(repo, layer.digest ?? ''),
      }));
    return scanInventory(layers);
  }

  /**
   * A blob as a stream, from the registry's blob store (whatever the layout). (Not `BlobStore.send`: it may reuse a
   * chunk's memory once its write has called back, which is right for sockets, not for a stream
   * read in the same process.)
   */
  private blobStream(repo: string, digest: string): Readable {
    const out = new PassThrough();
    this.options.registry.blobs.open(repo, parseDigest(digest)).then(
      (source) => {
        source.on('error', (err) => out.destroy(err));
        out.on('close', () => source.destroy());
        source.pipe(out);
      },
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  }

  /** Matches an inventory against the current data and stores the scan (once at a time per digest). */
  private async match(
    digest: string,
    inventory: Inventory,
    rethrow = false,
  ): Promise<StoredScan<Vulnerability> | undefined> {
    const running = this.matching.get(digest);
    if (running) return running;
    const version = this.options.osv.version;
    if (version === undefined) return undefined;
    const job = (async () => {
      try {
        const vulnerabilities = await matchInventory(this.options.osv, inventory.packages);
        const scan = {
          digest,
          dataVersion: version,
          scannedAt: Date.now(),
          counts: countsOf(vulnerabilities),
          vulnerabilities,
        };
        await this.options.store.putScan(scan);
        return scan;
      } catch (err) {
        if (rethrow) throw err;
        this.options.log.warn({ err, digest }, 'vulnerability matching failed');
        return undefined;
      } finally {
        this.matching.delete(digest);
      }
    })();
    this.matching.set(digest, job);
    return job;
  }
}
