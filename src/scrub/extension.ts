/**
 * Periodic scrub (`extensions.scrub`): every `interval` (default 24h, at least 2h, as in zot) the
 * whole store is re-hashed in the background and what is wrong is logged and counted in metrics;
 * nothing is repaired. The first scrub runs one interval after start-up, not at start-up: a restart
 * must not re-read every byte. Not registered when the block is absent or `enable` is false.
 */
import { compileRepositoryPattern } from '../auth/authz/repository-pattern.js';
import type { Config } from '../config/index.js';
import type { ExtensionFactory } from '../extensions.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import { scrubStore, type ScrubReport } from './scrub.js';

/**
 * Repositories a pull-through cache fills on demand (under an on-demand registry's `destination`,
 * or matching its `prefix` when it has none): their layers arrive when first pulled.
 */
export function onDemandRepositories(config: Config): (repo: string) => boolean {
  const sync = config.extensions?.sync;
  if (!sync?.enable) return () => false;
  const tests: ((repo: string) => boolean)[] = [];
  for (const registry of sync.registries) {
    if (!registry.onDemand) continue;
    for (const content of registry.content ?? []) {
      const destination = content.destination?.replace(/^\/+|\/+$/g, '') ?? '';
      if (destination !== '')
        tests.push((repo) => repo === destination || repo.startsWith(`${destination}/`));
      else tests.push(compileRepositoryPattern(content.prefix));
    }
  }
  return (repo) => tests.some((test) => test(repo));
}

export interface ScrubExtensionOptions {
  /** Called after each periodic scrub (tests). */
  onScrub?: (report: ScrubReport) => void;
}

export function scrubExtension(options: ScrubExtensionOptions = {}): ExtensionFactory {
  return (ctx) => {
    const settings = ctx.config.extensions?.scrub;
    if (!settings?.enable) return undefined;
    const log = ctx.log.child({ module: 'scrub' });
    const metrics = metricsFor(ctx.registry);
    const onDemand = onDemandRepositories(ctx.config);
    const run = async (): Promise<void> => {
      const report = await scrubStore({ registry: ctx.registry, log, onDemand, shouldStop: () => stopping });
      const count = (kind: string) => report.problems.filter((p) => p.kind === kind).length;
      for (const kind of ['corrupt', 'missing', 'unreadable'])
        metrics.scrubProblems.set({ kind }, count(kind));
      metrics.scrubChecked.set(report.checked);
      metrics.scrubLastRun.set(Date.now() / 1000);
      metrics.scrubRuns.inc({ result: report.problems.length === 0 ? 'clean' : 'problems' });
      log.info(
        {
          repositories: report.repositories.length,
          checked: report.checked,
          bytes: report.bytes,
          problems: report.problems.length,
          seconds: Math.round(report.durationSeconds),
        },
        report.problems.length === 0 ? 'scrub: store is clean' : 'scrub: problems found',
      );
      options.onScrub?.(report);
    };
    let stopping = false;
    return {
      name: 'scrub',
      async start() {
        log.info({ interval: settings.interval }, 'scrub: scheduled (elected)');
        // Elected: one process re-reads the shared store; failures are logged, counted, retried.
        const job = ctx.jobs.add({
          name: 'scrub',
          intervalMs: settings.interval,
          elected: true,
          run: async () => {
            try {
              await run();
            } catch (err) {
              metrics.scrubRuns.inc({ result: 'error' });
              throw err;
            }
          },
        });
        await job.scheduled;
      },
      stop() {
        stopping = true;
      },
    };
  };
}
