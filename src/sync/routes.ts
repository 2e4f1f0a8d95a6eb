/**
 * `extensions.sync` turned into what runs: one {@link SyncRoute} per `registries[]` entry, in
 * config order, each with its upstream client, compiled content rules and timings. Also the keys
 * Berth refuses rather than silently ignoring.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type SyncConfig, type SyncRegistryConfig } from '../config/index.js';
import { problemAt } from '../config/errors.js';
import type { SyncMetrics } from './metrics.js';
import { ContentRule } from './names.js';
import type { TransportOptions } from './transport.js';
import { UpstreamRegistry } from './upstream.js';

export interface RetryPolicy {
  /** Attempts after the first (zot's `maxRetries`; 0 when unset). */
  maxRetries: number;
  /** Wait before the first retry (zot's `retryDelay`). */
  delayMs: number;
  /** Waits double up to this (zot's `maxRetryDelay`; `retryDelay` when unset). */
  maxDelayMs: number;
}

export interface SyncRoute {
  /** Position in `registries[]`, for logs. */
  readonly index: number;
  readonly upstream: UpstreamRegistry;
  readonly rules: readonly ContentRule[];
  readonly onDemand: boolean;
  /** Periodic sync interval, when periodic sync is on for this registry. */
  readonly pollIntervalMs: number | undefined;
  /**
   * How long a cached tag is served without asking upstream (`manifestCheckInterval`; 0 = ask, with
   * a HEAD, on every pull by tag).
   */
  readonly freshnessMs: number;
  readonly retry: RetryPolicy;
  /** Budget for copying one image (`syncTimeout`). */
  readonly syncTimeoutMs: number;
}

export interface RouteOptions {
  log: Logger;
  metrics: SyncMetrics;
  connectTimeoutMs: number;
  stallTimeoutMs: number;
  cooldownMs?: number;
  lookup?: TransportOptions['lookup'];
}

/**
 * Keys Berth cannot honour yet and refuses, because ignoring them would change what gets pulled
 * or who is trusted: `onlySigned` (no signature verification yet) and `credentialHelper`.
 */
export function syncConfigProblems(sync: SyncConfig): ConfigError | undefined {
  const problems = sync.registries.flatMap((registry, index) => {
    const at = ['extensions', 'sync', 'registries', index];
    const found = [];
    if (registry.onlySigned) {
      found.push(
        problemAt(
          [...at, 'onlySigned'],
          'Berth does not verify signatures yet, so it cannot restrict sync to signed images; remove the key or set it to false',
        ),
      );
    }
    if (registry.credentialHelper !== undefined) {
      found.push(
        problemAt(
          [...at, 'credentialHelper'],
          `credential helper ${JSON.stringify(registry.credentialHelper)} is not supported; put the credentials in extensions.sync.credentialsFile`,
        ),
      );
    }
    return found;
  });
  return problems.length > 0 ? new ConfigError(problems) : undefined;
}

/** Reads `certDir` as zot does: `*.crt` are CA certificates, `*.cert` and `*.key` the client pair. */
export function readCertDir(dir: string, index: number): Pick<TransportOptions, 'ca' | 'cert' | 'key'> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError([
      problemAt(
        ['extensions', 'sync', 'registries', index, 'certDir'],
        `cannot read ${dir}: ${(err as Error).message}`,
      ),
    ]);
  }
  const out: { ca: string[]; cert?: string; key?: string } = { ca: [] };
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    if (name.endsWith('.crt')) out.ca.push(readFileSync(file, 'utf8'));
    else if (name.endsWith('.cert')) out.cert = readFileSync(file, 'utf8');
    else if (name.endsWith('.key')) out.key = readFileSync(file, 'utf8');
  }
  return out;
}

function route(
  registry: SyncRegistryConfig,
  index: number,
  sync: SyncConfig,
  options: RouteOptions,
): SyncRoute {
  const certs = registry.certDir === undefined ? {} : readCertDir(registry.certDir, index);
  const upstream = new UpstreamRegistry({
    urls: registry.urls,
    credentials: sync.credentials,
    transport: {
      tlsVerify: registry.tlsVerify,
      ...certs,
      connectTimeoutMs: options.connectTimeoutMs,
      stallTimeoutMs: options.stallTimeoutMs,
      ...(registry.reqConcurrent === undefined ? {} : { maxSockets: registry.reqConcurrent }),
      ...(registry.maxIdleConnsPerHost === undefined ? {} : { maxFreeSockets: registry.maxIdleConnsPerHost }),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    },
    log: options.log,
    metrics: options.metrics,
    ...(options.cooldownMs === undefined ? {} : { cooldownMs: options.cooldownMs }),
    ...(registry.reqPerSec === undefined ? {} : { requestsPerSecond: registry.reqPerSec }),
  });
  const delayMs = registry.retryDelay ?? 0;
  const periodic =
    registry.pollInterval !== undefined && registry.pollInterval > 0 && registry.content.length > 0;
  return {
    index,
    upstream,
    rules: registry.content.map((content) => new ContentRule(content)),
    onDemand: registry.onDemand,
    pollIntervalMs: periodic ? registry.pollInterval : undefined,
    freshnessMs: registry.manifestCheckInterval ?? 0,
    retry: {
      maxRetries: registry.maxRetries ?? 0,
      delayMs,
      maxDelayMs: Math.max(delayMs, registry.maxRetryDelay ?? delayMs),
    },
    syncTimeoutMs: registry.syncTimeout,
  };
}

/** One route per registry, in config order. */
export function buildRoutes(sync: SyncConfig, options: RouteOptions): SyncRoute[] {
  return sync.registries.map((registry, index) => route(registry, index, sync, options));
}
