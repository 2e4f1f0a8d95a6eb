/**
 * The metrics extension (`extensions.metrics`): Prometheus text at `extensions.metrics.prometheus.path`
 * (a path prefix, as in zot), request counts and latencies from every finished request, per-repository
 * downloads, uploads and storage bytes, process metrics. Not registered when the block is absent or
 * `enable` is false.
 */
import { readFileSync } from 'node:fs';
import { collectDefaultMetrics } from 'prom-client';
import { authenticationConfigured } from '../auth/authentication-configured.js';
import { compilePolicy } from '../auth/authz/policy.js';
import type { Identity } from '../auth/identity.js';
import { isAnonymous } from '../auth/identity.js';
import type { Config } from '../config/index.js';
import type { AppContext, ExtensionFactory } from '../extensions.js';
import { openAccess } from '../http/access.js';
import { hideRepositories } from './hide-repositories.js';
import type { RequestRecord } from '../http/server.js';
import { RegistryError } from '../oci/errors.js';
import type { RegistryEventMap } from '../registry/events.js';
import { metricsFor, type BerthMetrics } from './berth-metrics.js';

/** The route name requests to the metrics endpoint get; they are left out of the request metrics. */
export const METRICS_ROUTE = 'metrics';

export interface MetricsOptions {
  /**
   * Who may scrape. The default is the access guard's policy, which applies
   * `http.accessControl.metrics` the way zot does (`""` in `users` or `read` in `anonymousPolicy`
   * admits the anonymous caller; authenticated callers must be named in `users`); without
   * accessControl, anyone when no authentication is configured and any authenticated caller
   * otherwise.
   */
  canScrape?: (identity: Identity) => boolean;
}

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** zot's metrics authorization, from the configuration alone. */
export function defaultScrapePolicy(config: Config): (identity: Identity) => boolean {
  const policy = compilePolicy(config.http.accessControl, {
    authenticationConfigured: authenticationConfigured(config),
  });
  return (identity) => policy.canScrapeMetrics(identity);
}

function matchesPrefix(pathname: string, prefix: string): boolean {
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/** Records one finished request into the request metrics. */
function recordRequest(metrics: BerthMetrics, ctx: AppContext, record: RequestRecord): void {
  const code = String(record.status);
  metrics.httpRequests.inc({ method: record.method, code });
  metrics.httpMethodLatency.observe({ method: record.method }, record.durationSeconds);
  metrics.httpDuration.observe({ method: record.method, route: record.route, code }, record.durationSeconds);
  metrics.httpReceivedBytes.inc({ route: record.route }, record.bytesIn);
  metrics.httpSentBytes.inc({ route: record.route }, record.bytesOut);
  // Requests that fail for names nobody pushed must not grow the label set without bound; a push
  // that succeeds (and creates the repository) may.
  const repo = record.repo;
  const named =
    repo === undefined
      ? Promise.resolve(false)
      : record.status < 400
        ? Promise.resolve(true)
        : ctx.registry.manifests.repositoryExists(repo);
  void named.then(
    (yes) => metrics.httpRepoLatency.observe({ repo: yes ? repo! : 'N/A' }, record.durationSeconds),
    () => metrics.httpRepoLatency.observe({ repo: 'N/A' }, record.durationSeconds),
  );
}

export function metricsExtension(options: MetricsOptions = {}): ExtensionFactory {
  return (ctx) => {
    const settings = ctx.config.extensions?.metrics;
    if (!settings?.enable) return undefined;
    const path = settings.prometheus.path;
    // The access guard's compiled policy; the open guard (no auth wired in) knows no policy, so
    // then zot's rules are read from the configuration directly.
    const canScrape =
      options.canScrape ??
      (ctx.access === openAccess
        ? defaultScrapePolicy(ctx.config)
        : (identity: Identity) => ctx.access.policy.canScrapeMetrics(identity));
    const metrics = metricsFor(ctx.registry);
    collectDefaultMetrics({ register: metrics.registry });
    metrics.info.set(
      { commit: '', binaryType: 'berth', goVersion: process.version, version: pkg.version },
      1,
    );
    metrics.measureRepositoriesWith(() => ctx.registry.index.repositorySizes());

    const onPulled = ({ repo }: RegistryEventMap['manifest-pulled'][0]): void =>
      metrics.repoDownloads.inc({ repo });
    const onPushed = ({ repo }: RegistryEventMap['manifest-pushed'][0]): void =>
      metrics.repoUploads.inc({ repo });
    ctx.registry.events.on('manifest-pulled', onPulled);
    ctx.registry.events.on('manifest-pushed', onPushed);

    return {
      name: 'metrics',
      routes: [
        async (req) => {
          const method = req.req.method;
          if ((method !== 'GET' && method !== 'HEAD') || !matchesPrefix(req.url.pathname, path)) return false;
          req.route = METRICS_ROUTE;
          // Anonymous callers reach the decision below whatever the repository policies say.
          req.identity = await ctx.access.authenticate(req, { anonymous: 'allow' });
          if (!canScrape(req.identity)) {
            if (isAnonymous(req.identity)) throw new RegistryError('UNAUTHORIZED', 'authentication required');
            throw new RegistryError('DENIED', 'requested access to the resource is denied');
          }
          // Repository labels only for what this scraper may read; the rest summed as `_hidden`.
          const identity = req.identity;
          const body = Buffer.from(
            hideRepositories(await metrics.registry.metrics(), (repo) =>
              ctx.access.can(identity, 'read', repo),
            ),
          );
          req.res.writeHead(200, {
            'Content-Type': metrics.registry.contentType,
            'Content-Length': body.length,
          });
          req.res.end(method === 'HEAD' ? undefined : body);
          return true;
        },
      ],
      onRequestEnd(record) {
        if (record.route !== METRICS_ROUTE) recordRequest(metrics, ctx, record);
      },
      stop() {
        ctx.registry.events.off('manifest-pulled', onPulled);
        ctx.registry.events.off('manifest-pushed', onPushed);
      },
    };
  };
}
