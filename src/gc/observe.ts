/**
 * How a collection is made visible: a log line per tag or manifest removed (retention's decisions
 * must be traceable), a summary line per repository, metrics, and audit entries. Shared by the
 * background extension and `berth gc`.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { BerthMetrics } from '../metrics/berth-metrics.js';
import { formatBytes, totalsOf, type RepositoryReport, type SweepReport } from './report.js';

export interface GcSinks {
  log: Logger;
  metrics?: BerthMetrics | undefined;
  audit?: AuditLog | undefined;
}

export function observeRepository(report: RepositoryReport, { log, metrics, audit }: GcSinks): void {
  const repo = report.repo;
  const dryRun = report.retentionDryRun;
  for (const t of report.tags) {
    log.info(
      {
        module: 'retention',
        repo,
        tag: t.tag,
        digest: t.digest,
        reason: t.reason,
        dryRun,
        decision: 'delete',
      },
      'retention: tag removed',
    );
    metrics?.retentionDeleted.inc({ reason: 'tag', dry_run: String(dryRun) });
    audit?.record({
      action: 'gc.delete',
      user: null,
      repo,
      reference: t.tag,
      digest: t.digest,
      detail: { reason: t.reason, dryRun },
    });
  }
  for (const m of report.manifests) {
    log.info(
      {
        module: 'retention',
        repo,
        digest: m.digest,
        mediaType: m.mediaType,
        reason: m.reason,
        dryRun,
        decision: 'delete',
      },
      'retention: manifest removed',
    );
    metrics?.retentionDeleted.inc({ reason: m.reason, dry_run: String(dryRun) });
    audit?.record({
      action: 'gc.delete',
      user: null,
      repo,
      digest: m.digest,
      detail: { reason: m.reason, dryRun },
    });
  }
  for (const b of report.blobs)
    log.debug({ module: 'gc', repo, digest: b.digest, size: b.size, freed: b.freed }, 'gc: blob removed');
  for (const u of report.uploads)
    log.debug({ module: 'gc', repo, upload: u.id, size: u.size }, 'gc: upload session removed');
  if (metrics) {
    metrics.gcRuns.inc({ error: String(report.error !== undefined) });
    metrics.gcDuration.observe(report.durationSeconds);
    if (!dryRun && report.manifests.length > 0)
      metrics.gcDeleted.inc({ type: 'manifest' }, report.manifests.length);
    if (report.blobs.length > 0) metrics.gcDeleted.inc({ type: 'blob' }, report.blobs.length);
    if (report.uploads.length > 0) metrics.gcDeleted.inc({ type: 'upload' }, report.uploads.length);
    metrics.gcFreedBytes.inc(report.freedBytes);
  }
  if (report.blobs.length + report.uploads.length + report.manifests.length + report.tags.length > 0) {
    log.info(
      {
        module: 'gc',
        repo,
        tags: report.tags.length,
        manifests: report.manifests.length,
        blobs: report.blobs.length,
        uploads: report.uploads.length,
        freedBytes: report.freedBytes,
        repositoryRemoved: report.repositoryRemoved,
        retentionDryRun: dryRun,
        ms: Math.round(report.durationSeconds * 1000),
      },
      'gc: repository collected',
    );
  }
}

export function observeSweep(report: SweepReport, { log, metrics }: GcSinks): void {
  const t = totalsOf(report.repositories);
  log.info(
    {
      module: 'gc',
      repositories: report.scanned,
      tags: t.tags,
      manifests: t.manifests,
      blobs: t.blobs,
      uploads: t.uploads,
      freed: formatBytes(t.freedBytes),
      freedBytes: t.freedBytes,
      errors: t.errors,
      aborted: report.aborted,
      ...(report.store
        ? {
            storeObjects: report.store.blobs.length,
            storeFreedBytes: report.store.freedBytes,
            abortedUploads: report.store.abortedUploads,
            ...(report.store.error === undefined ? {} : { storeError: report.store.error }),
          }
        : {}),
      seconds: Math.round(report.durationSeconds * 1000) / 1000,
    },
    'gc: sweep finished',
  );
  metrics?.gcSweeps.inc({ result: t.errors > 0 ? 'error' : 'ok' });
  metrics?.gcLastSweep.set(Date.now() / 1000);
}
