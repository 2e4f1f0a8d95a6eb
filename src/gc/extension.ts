/**
 * Background garbage collection (`storage.gc`, `gcDelay`, `gcInterval`, `retention`): a first sweep
 * right after start-up, then the next one `gcInterval` after the previous finished (zot's schedule;
 * `gcInterval` 0 means a single sweep). With several processes on one store only the elected one
 * sweeps (the job runner's leader election). Not registered when `storage.gc` is false.
 */
import { auditLogFor } from '../audit/audit-log.js';
import type { Extension, ExtensionFactory } from '../extensions.js';
import { metricsFor } from '../metrics/berth-metrics.js';
import type { RegistryEventMap } from '../registry/events.js';
import { GarbageCollector } from './collector.js';
import { observeRepository, observeSweep, type GcSinks } from './observe.js';
import type { SweepReport } from './report.js';
import { RetentionPolicies } from './retention.js';
import { PullLedger, RecentBlobLedger } from './usage.js';

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

/** How often buffered pull times are written to the store. */
const PULL_FLUSH_MS = 5_000;

export function gcExtension(options: GcOptions = {}): ExtensionFactory {
  return (ctx): GcExtension | undefined => {
    const storage = ctx.config.storage;
    if (!storage.gc) return undefined;
    const now = options.now ?? Date.now;
    const events = ctx.registry.events;
    const pulls = new PullLedger(ctx.meta.pullTimes);
    const recent = ctx.meta.recentBlobs;
    const sinks: GcSinks = {
      log: ctx.log.child({ module: 'gc' }),
      metrics: metricsFor(ctx.registry),
      audit: auditLogFor(ctx),
    };

    // Recorded in the shared store, so the elected collector (maybe another process) spares them.
    const stores = new RecentBlobLedger(recent, (err) => {
      sinks.log.error({ err }, 'gc: could not record stored blobs; retrying');
      sinks.metrics?.backgroundJobFailures.inc({ job: 'gc-recent-blobs' });
    });
    const remember = (repo: string, digest: string): void => stores.record(repo, digest, now());
    const onPulled = ({ repo, digest }: RegistryEventMap['manifest-pulled'][0]): void =>
      pulls.record(repo, digest, now());
    // A fresh file is young by its own modification time, which the sweep reads (collector.ts);
    // only content that was there before needs a recorded time.
    const onPushed = ({ repo, digest, fresh }: RegistryEventMap['manifest-pushed'][0]): void => {
      if (!fresh) remember(repo, digest);
    };
    const onStored = ({ repo, digest, fresh }: RegistryEventMap['blob-stored'][0]): void => {
      if (!fresh) remember(repo, digest);
    };
    events.on('manifest-pulled', onPulled);
    events.on('manifest-pushed', onPushed);
    events.on('blob-stored', onStored);

    const retention = new RetentionPolicies(storage.retention, storage.gcDelay);
    // A recent-blob record older than both delays can no longer spare anything: every later sweep's
    // cutoffs (blobs: gcDelay; manifests: the retention delay) are past it. Kept no longer, so
    // the table holds one delay's worth of pushes.
    const recentBlobsKeptMs = Math.max(storage.gcDelay, retention.delayMs);
    const collector = new GarbageCollector({
      registry: ctx.registry,
      log: sinks.log,
      delayMs: storage.gcDelay,
      retention,
      now,
      pulls,
      recentBlobs: recent,
      onRepository: (report) => observeRepository(report, sinks),
    });

    let stopping = false;
    let last: SweepReport | undefined;
    const sweepOnce = async (): Promise<void> => {
      try {
        // This process's latest stores first, so that the sweep spares them.
        await stores.flush();
        last = await collector.sweep(() => stopping);
      } catch (err) {
        sinks.metrics?.gcSweeps.inc({ result: 'error' });
        throw err;
      }
      observeSweep(last, sinks);
      await recent.purge(now() - recentBlobsKeptMs);
    };
    const flusher = ctx.jobs.add({
      name: 'pull-ledger-flush',
      intervalMs: PULL_FLUSH_MS,
      elected: false,
      run: () => pulls.flush(),
    });
    // Elected: one process sweeps the shared store; the first sweep right after start-up, the next
    // gcInterval after the previous one finished (zot's schedule; 0 means a single sweep).
    const sweeper = ctx.jobs.add({
      name: 'gc',
      intervalMs: storage.gcInterval,
      firstDelayMs: 0,
      elected: true,
      scheduled: !options.manual,
      run: sweepOnce,
    });

    return {
      name: 'gc',
      collector,
      sweepNow: async () => {
        await sweeper.runNow();
        return last!;
      },
      start() {
        if (!options.manual)
          sinks.log.info(
            { gcDelay: storage.gcDelay, gcInterval: storage.gcInterval },
            'gc: scheduled (elected)',
          );
      },
      async stop() {
        stopping = true;
        await flusher
          .runNow()
          .catch((err: unknown) => sinks.log.error({ err }, 'gc: final pull-ledger flush failed'));
        events.off('manifest-pulled', onPulled);
        events.off('manifest-pushed', onPushed);
        events.off('blob-stored', onStored);
        await stores
          .close()
          .catch((err: unknown) => sinks.log.error({ err }, 'gc: final stored-blob flush failed'));
      },
    };
  };
}
