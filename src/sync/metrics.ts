/**
 * The sync extension's Prometheus counters, labelled by upstream (the host of its first URL):
 *
 * - `berth_sync_cache_hits_total{upstream,kind}`: requests answered from the cache: manifests
 *   (fresh, or revalidated by a HEAD that found the same digest) and blob GETs;
 * - `berth_sync_cache_misses_total{upstream,kind}`: manifests (`kind="manifest"`) and blobs
 *   (`kind="blob"`) fetched from upstream because the cache lacked them or a tag had moved;
 * - `berth_sync_stale_served_total{upstream}`: cached manifests served because the upstream
 *   could not be asked (down, rate-limited, or no longer has the tag);
 * - `berth_sync_upstream_bytes_total{upstream}`: bytes received from upstream (manifests, blobs);
 * - `berth_sync_upstream_errors_total{upstream,reason}`: failed upstream requests, by
 *   `not-found`, `rate-limited`, `unreachable`, `timeout`, `bad-response`.
 *
 * They live on the prom-client registry given: the app's (`metricsFor(registry)` in src/metrics),
 * which `/metrics` serves when the metrics extension is on.
 */
import { Counter, type Registry } from 'prom-client';

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  // Registering a name twice throws; a registry shared by two sync extensions reuses the counters.
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export class SyncMetrics {
  private readonly hits: Counter<'upstream' | 'kind'>;
  private readonly misses: Counter<'upstream' | 'kind'>;
  private readonly stale: Counter<'upstream'>;
  private readonly bytes: Counter<'upstream'>;
  private readonly errors: Counter<'upstream' | 'reason'>;

  constructor(registry: Registry) {
    this.hits = counter(
      registry,
      'berth_sync_cache_hits_total',
      'Pull-through requests answered from the cache',
      ['upstream', 'kind'],
    );
    this.misses = counter(
      registry,
      'berth_sync_cache_misses_total',
      'Manifests and blobs fetched from upstream',
      ['upstream', 'kind'],
    );
    this.stale = counter(
      registry,
      'berth_sync_stale_served_total',
      'Cached manifests served because the upstream could not be asked',
      ['upstream'],
    );
    this.bytes = counter(
      registry,
      'berth_sync_upstream_bytes_total',
      'Bytes received from upstream registries',
      ['upstream'],
    );
    this.errors = counter(
      registry,
      'berth_sync_upstream_errors_total',
      'Failed requests to upstream registries',
      ['upstream', 'reason'],
    );
  }

  hit(upstream: string, kind: 'manifest' | 'blob'): void {
    this.hits.inc({ upstream, kind });
  }

  miss(upstream: string, kind: 'manifest' | 'blob'): void {
    this.misses.inc({ upstream, kind });
  }

  staleServed(upstream: string): void {
    this.stale.inc({ upstream });
  }

  upstreamBytes(upstream: string, count: number): void {
    this.bytes.inc({ upstream }, count);
  }

  upstreamError(upstream: string, reason: string): void {
    this.errors.inc({ upstream, reason });
  }
}
