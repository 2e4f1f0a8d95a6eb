/**
 * Background garbage collection (`storage.gc`, `gcDelay`, `gcInterval`, `retention`): a first sweep
 * right after start-up, then the next one `gcInterval` after the previous finished (zot's schedule;
 * `gcInterval` 0 means a single sweep). Not registered when `storage.gc` is false.
 */
import { auditLogFor } from '../audit/audit-log.js';
import type { Extension, ExtensionFactory } from '../extensions.js';
import { migrateModule } from '../meta/database.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import type { RegistryEventMap } from '../registry/events.js';
import { GarbageCollector } from './collector.js';
import { observeRepository, observeSweep, type GcSinks } from './observe.js';
import type { SweepReport } from './report.js';
import { RetentionPolicies } from './retention.js';
import { GC_MIGRATIONS, PullLedger, RecentBlobs } from './usage.js';

export interface GcOptions {
  /** The clock ages are measured against (ms since the epoch). */
  now?: () => number;
  /** Leave the schedule off (tests drive `sweepNow` themselves). */
  manual?: boolean;
}

export interface GcExtension extends Extension {
  readonly collector: GarbageCollector;
  /** Runs a sweep now (waiting for one in progress to finish first). */
  sweepNow(): Promise<SweepReport>;
}

/** How often buffered pull times are written to the database. */
const PULL_FLUSH_MS = 5_000;

export function gcExtension(options: GcOptions = {}): ExtensionFactory {
  return (ctx): GcExtension | undefined => {
    const storage = ctx.config.storage;
    if (!storage.gc) return undefined;
    migrateModule(ctx.db, 'gc', GC_MIGRATIONS);
    const now = options.now ?? Date.now;
    const events = ctx.registry.events;
    const pulls = new PullLedger(ctx.db);
    const recent = new RecentBlobs();
    const sinks: GcSinks = {
      log: ctx.log.child({ module: 'gc' }),
      metrics: metricsFor(ctx.registry),
      audit: auditLogFor(ctx),
    };

    const onPulled = ({ repo, digest }: RegistryEventMap['manifest-pulled'][0]): void =>
      pulls.record(repo, digest, now());
    const onPushed = ({ repo, digest }: RegistryEventMap['manifest-pushed'][0]): void =>
      recent.record(repo, digest, now());
    const onStored = ({ repo, digest }: RegistryEventMap['blob-stored'][0]): void =>
      recent.record(repo, digest, now());
    events.on('manifest-pulled', onPulled);
    events.on('manifest-pushed', onPushed);
    events.on('blob-stored', onStored);

    const collector = new GarbageCollector({
      registry: ctx.registry,
      db: ctx.db,
      log: sinks.log,
      delayMs: storage.gcDelay,
      retention: new RetentionPolicies(storage.retention, storage.gcDelay),
      now,
      pulls,
      recentBlobs: recent,
      onRepository: (report) => observeRepository(report, sinks),
    });

    let stopping = false;
    let timer: NodeJS.Timeout | undefined;
    let flusher: NodeJS.Timeout | undefined;
    let running: Promise<SweepReport> | undefined;

    const sweep = async (): Promise<SweepReport> => {
      while (running) await running.catch(() => undefined);
      running = collector.sweep(() => stopping);
      try {
        const report = await running;
        observeSweep(report, sinks);
        return report;
      } finally {
        running = undefined;
      }
    };
    // The next sweep starts gcInterval after the previous one finished; 0 means no next sweep.
    const next = (): void => {
      if (storage.gcInterval > 0) schedule(storage.gcInterval);
    };
    const schedule = (delay: number): void => {
      if (stopping) return;
      timer = setTimeout(() => {
        timer = undefined;
        sweep().then(next, (err: unknown) => {
          sinks.log.error({ err }, 'gc: sweep failed');
          sinks.metrics?.gcSweeps.inc({ result: 'error' });
          next();
        });
      }, delay);
    };

    return {
      name: 'gc',
      collector,
      sweepNow: sweep,
      start() {
        flusher = setInterval(() => pulls.flush(), PULL_FLUSH_MS);
        flusher.unref();
        if (options.manual) return;
        sinks.log.info({ gcDelay: storage.gcDelay, gcInterval: storage.gcInterval }, 'gc: scheduled');
        schedule(0);
      },
      async stop() {
        stopping = true;
        if (timer) clearTimeout(timer);
        if (flusher) clearInterval(flusher);
        await running?.catch(() => undefined);
        pulls.flush();
        events.off('manifest-pulled', onPulled);
        events.off('manifest-pushed', onPushed);
        events.off('blob-stored', onStored);
      },
    };
  };
}
