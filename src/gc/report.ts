/** What a garbage collection removed (or, in a dry run, would remove), and how to print it. */

export type ManifestRemovalReason = 'untagged' | 'referrer' | 'missing';

export interface RemovedTag {
  tag: string;
  digest: string;
  reason: string;
}

export interface RemovedManifest {
  digest: string;
  mediaType: string;
  reason: ManifestRemovalReason;
}

export interface RemovedBlob {
  digest: string;
  size: number;
  /** Whether the bytes leave the disk (no other repository holds a hard link to them). */
  freed: boolean;
}

export interface RemovedUpload {
  id: string;
  size: number;
}

export interface RepositoryReport {
  repo: string;
  /** Tags removed by retention. */
  tags: RemovedTag[];
  manifests: RemovedManifest[];
  blobs: RemovedBlob[];
  uploads: RemovedUpload[];
  /** The repository had nothing left and its index.json went too. */
  repositoryRemoved: boolean;
  /** Bytes of the blobs and uploads removed. */
  bytes: number;
  /** Bytes that leave the disk (shared hard links excluded). */
  freedBytes: number;
  /** Tag and manifest removals were only reported (`retention.dryRun` or a dry run). */
  retentionDryRun: boolean;
  durationSeconds: number;
  /** Set when the repository could not be collected; nothing was removed from its blobs then. */
  error?: string;
}

export interface SweepReport {
  dryRun: boolean;
  /** The clock the ages were measured against (ms since the epoch). */
  now: number;
  scanned: number;
  /** Repositories with something removed or an error. */
  repositories: RepositoryReport[];
  durationSeconds: number;
  /** The sweep stopped early (shutdown). */
  aborted: boolean;
  /** Content-addressed stores (S3): the store-wide pass after the repositories. */
  store?: StoreSweepReport;
  /** Rows of manifests and repositories no longer indexed, deleted (`meta/manifest-dependents.ts`). */
  orphanRows?: number;
}

/** What the store-wide pass of a content-addressed store removed (or would remove). */
export interface StoreSweepReport {
  /** Objects no repository held any more, older than gcDelay. */
  blobs: { digest: string; size: number }[];
  freedBytes: number;
  /** The object store's multipart uploads of writers that died, aborted. */
  abortedUploads: number;
  error?: string;
}

export interface SweepTotals {
  tags: number;
  manifests: number;
  blobs: number;
  uploads: number;
  bytes: number;
  freedBytes: number;
  errors: number;
}

export function totalsOf(reports: readonly RepositoryReport[]): SweepTotals {
  const totals: SweepTotals = {
    tags: 0,
    manifests: 0,
    blobs: 0,
    uploads: 0,
    bytes: 0,
    freedBytes: 0,
    errors: 0,
  };
  for (const r of reports) {
    totals.tags += r.tags.length;
    totals.manifests += r.manifests.length;
    totals.blobs += r.blobs.length;
    totals.uploads += r.uploads.length;
    totals.bytes += r.bytes;
    totals.freedBytes += r.freedBytes;
    if (r.error !== undefined) totals.errors++;
  }
  return totals;
}

export function isEmptyReport(r: RepositoryReport): boolean {
  return (
    r.error === undefined &&
    r.tags.length === 0 &&
    r.manifests.length === 0 &&
    r.blobs.length === 0 &&
    r.uploads.length === 0 &&
    !r.repositoryRemoved
  );
}

/** `1.5 MiB`-style sizes for people. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** The report as `berth gc` prints it: one line per removed object, then the totals. */
export function formatSweepReport(report: SweepReport): string {
  const lines: string[] = [];
  for (const r of report.repositories) {
    lines.push(`${r.repo}${r.error === undefined ? '' : `  (not collected: ${r.error})`}`);
    const note = r.retentionDryRun && !report.dryRun ? ' (retention dry run: kept)' : '';
    for (const t of r.tags) lines.push(`  tag       ${t.tag} -> ${t.digest}: ${t.reason}${note}`);
    for (const m of r.manifests) lines.push(`  manifest  ${m.digest} ${m.mediaType} (${m.reason})${note}`);
    for (const b of r.blobs)
      lines.push(
        `  blob      ${b.digest} ${formatBytes(b.size)}${b.freed ? '' : ' (still linked elsewhere)'}`,
      );
    for (const u of r.uploads) lines.push(`  upload    ${u.id} ${formatBytes(u.size)}`);
    if (r.repositoryRemoved) lines.push('  repository left empty: removed');
  }
  const t = totalsOf(report.repositories);
  const touched = report.repositories.filter((r) => r.error === undefined).length;
  const objects = [
    plural(t.tags, 'tag'),
    plural(t.manifests, 'manifest'),
    plural(t.blobs, 'blob'),
    plural(t.uploads, 'upload'),
  ];
  const summary = report.dryRun
    ? `dry run: would remove ${objects.join(', ')} in ${touched} of ${plural(report.scanned, 'repository', 'repositories')}; ${formatBytes(t.freedBytes)} would be freed`
    : `removed ${objects.join(', ')} in ${touched} of ${plural(report.scanned, 'repository', 'repositories')}; ${formatBytes(t.freedBytes)} freed`;
  lines.push(
    summary +
      (t.errors > 0 ? `; ${plural(t.errors, 'repository', 'repositories')} could not be collected` : ''),
  );
  if (report.store) {
    const s = report.store;
    for (const b of s.blobs)
      lines.push(`store blob  ${b.digest} ${formatBytes(b.size)} (no repository holds it)`);
    lines.push(
      `store: ${report.dryRun ? 'would delete' : 'deleted'} ${plural(s.blobs.length, 'object')} no repository holds (${formatBytes(s.freedBytes)}); ${plural(s.abortedUploads, 'stale multipart upload')} aborted` +
        (s.error === undefined ? '' : `; failed: ${s.error}`),
    );
  }
  if (report.aborted) lines.push('the sweep was interrupted before it reached every repository');
  return lines.join('\n');
}
