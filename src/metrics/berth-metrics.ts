/**
 * Every metric Berth exports, on one prom-client `Registry` per app (never the global one, so that
 * several apps in one process, as in tests, keep their counts apart). Names follow zot's where zot
 * has the metric, so existing dashboards keep working; Berth's own carry the `berth_` prefix.
 *
 * Recording is cheap and always on: garbage collection and scrub record into the app's metrics
 * whether or not `extensions.metrics` exposes them.
 */
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';

/** zot's buckets for `zot_http_method_latency_seconds`. */
const ZOT_LATENCY_BUCKETS = [0.05, 0.5, 1, 5, 30, 60, 600];
/** Finer buckets for Berth's own request histogram: most registry requests take milliseconds. */
const BERTH_LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
];

/** What a collector of repository sizes returns for the `zot_repo_storage_bytes` gauge. */
export type RepositorySizes = () => Promise<Iterable<{ repo: string; bytes: number }>>;

export class BerthMetrics {
  readonly registry = new Registry();

  // zot's names (pkg/extensions/monitoring).
  readonly httpRequests = new Counter({
    name: 'zot_http_requests_total',
    help: 'Total number of HTTP requests, by method and status code (the metrics endpoint excluded)',
    labelNames: ['method', 'code'] as const,
    registers: [this.registry],
  });
  readonly httpMethodLatency = new Histogram({
    name: 'zot_http_method_latency_seconds',
    help: 'Latency of HTTP requests by method, in seconds',
    labelNames: ['method'] as const,
    buckets: ZOT_LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly httpRepoLatency = new Summary({
    name: 'zot_http_repo_latency_seconds',
    help: 'Latency of HTTP requests by repository ("N/A" outside repositories), in seconds',
    labelNames: ['repo'] as const,
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [this.registry],
  });
  readonly repoDownloads = new Counter({
    name: 'zot_repo_downloads_total',
    help: 'Manifests served to clients, by repository',
    labelNames: ['repo'] as const,
    registers: [this.registry],
  });
  readonly repoUploads = new Counter({
    name: 'zot_repo_uploads_total',
    help: 'Manifests pushed, by repository',
    labelNames: ['repo'] as const,
    registers: [this.registry],
  });
  readonly info = new Gauge({
    name: 'zot_info',
    help: 'Build information (always 1); Berth reports its own version and Node.js in goVersion',
    labelNames: ['commit', 'binaryType', 'goVersion', 'version'] as const,
    registers: [this.registry],
  });
  readonly gcRuns = new Counter({
    name: 'zot_gc_runs_total',
    help: 'Garbage collections of one repository, by whether they failed',
    labelNames: ['error'] as const,
    registers: [this.registry],
  });
  readonly gcDuration = new Summary({
    name: 'zot_gc_duration_seconds',
    help: 'Time garbage collection of one repository took, in seconds',
    maxAgeSeconds: 3600,
    ageBuckets: 5,
    registers: [this.registry],
  });
  readonly gcDeleted = new Counter({
    name: 'zot_gc_deleted_total',
    help: 'Objects garbage collection deleted, by type (manifest, blob, upload)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  // Berth's own.
  readonly httpDuration = new Histogram({
    name: 'berth_http_request_duration_seconds',
    help: 'Latency of HTTP requests by method, route and status code, in seconds',
    labelNames: ['method', 'route', 'code'] as const,
    buckets: BERTH_LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly httpReceivedBytes = new Counter({
    name: 'berth_http_received_bytes_total',
    help: 'Bytes received from clients (headers and bodies), by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly httpSentBytes = new Counter({
    name: 'berth_http_sent_bytes_total',
    help: 'Bytes sent to clients (headers and bodies), by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly gcSweeps = new Counter({
    name: 'berth_gc_sweeps_total',
    help: 'Garbage collection sweeps over the whole store, by outcome (ok, error)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly gcFreedBytes = new Counter({
    name: 'berth_gc_freed_bytes_total',
    help: 'Bytes garbage collection removed from the filesystem (a hard-linked blob counts when its last link goes)',
    registers: [this.registry],
  });
  readonly gcLastSweep = new Gauge({
    name: 'berth_gc_last_sweep_timestamp_seconds',
    help: 'When the last garbage collection sweep finished (Unix time)',
    registers: [this.registry],
  });
  readonly retentionDeleted = new Counter({
    name: 'berth_retention_deleted_total',
    help: 'Tags and manifests removed by retention and GC policy, by reason (tag, untagged, referrer, missing) and dry run',
    labelNames: ['reason', 'dry_run'] as const,
    registers: [this.registry],
  });
  readonly scrubRuns = new Counter({
    name: 'berth_scrub_runs_total',
    help: 'Scrubs of the whole store, by result (clean, problems, error)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly scrubProblems = new Gauge({
    name: 'berth_scrub_problems',
    help: 'Problems the last scrub found, by kind (corrupt, missing, unreadable)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly scrubChecked = new Gauge({
    name: 'berth_scrub_checked_objects',
    help: 'Blobs and manifests the last scrub re-hashed',
    registers: [this.registry],
  });
  readonly scrubLastRun = new Gauge({
    name: 'berth_scrub_last_run_timestamp_seconds',
    help: 'When the last scrub finished (Unix time)',
    registers: [this.registry],
  });

  readonly backgroundJobFailures = new Counter({
    name: 'berth_background_job_failures_total',
    help: 'Failed runs of background jobs (pull-ledger flush, session purge, gc, scrub, sync...), by job; each is retried with backoff',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });

  private repositorySizes: RepositorySizes = () => Promise.resolve([]);

  constructor() {
    const sizes = () => this.repositorySizes();
    new Gauge({
      name: 'zot_repo_storage_bytes',
      help: 'Bytes of the blobs each repository holds',
      labelNames: ['repo'] as const,
      registers: [this.registry],
      // Read at scrape time, so deletes, GC and restarts are always reflected and vanished
      // repositories disappear.
      async collect() {
        const current = await sizes();
        this.reset();
        for (const { repo, bytes } of current) this.set({ repo }, bytes);
      },
    });
  }

  /** Where `zot_repo_storage_bytes` reads its values at each scrape. */
  measureRepositoriesWith(sizes: RepositorySizes): void {
    this.repositorySizes = sizes;
  }
}

const byOwner = new WeakMap<object, BerthMetrics>();

/**
 * The metrics of one app, created on first use. `owner` is an object the app holds for its whole
 * life (its `Registry`), so that extensions built separately record into the same place.
 */
export function metricsFor(owner: object): BerthMetrics {
  let metrics = byOwner.get(owner);
  if (!metrics) {
    metrics = new BerthMetrics();
    byOwner.set(owner, metrics);
  }
  return metrics;
}
