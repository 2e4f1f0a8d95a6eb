/**
 * The benchmark's verdicts and its printed table: Berth against Distribution per scenario and
 * concurrency level, with the ratio and each target of issue 2 marked PASS or MISS.
 */
import type { RunStats } from './measure.js';

export interface Measurement extends RunStats {
  /** Peak resident memory of the server during the run, when its PID is known. */
  peakRssBytes?: number;
  /** Server CPU time (user + system, all threads) per operation, in ms. */
  serverCpuMsPerOp?: number;
  /** The kernel's share of that CPU time (file creation, fsync, sockets). */
  serverSystemCpuShare?: number;
  /** The load generator's own CPU time per operation, in ms: it shares the machine. */
  clientCpuMsPerOp?: number;
  /** The machine's 1-minute load average when the run started: other work skews the figures. */
  loadAverage1?: number;
}

export interface Row {
  scenario: string;
  title: string;
  concurrency: number;
  /** By registry name: `berth`, `distribution`; the median round when there were several. */
  results: Record<string, Measurement>;
  /** Every round, by registry name, when `--rounds` was above 1. */
  rounds?: Record<string, Measurement[]>;
}

export type Verdict = 'PASS' | 'MISS' | 'n/a';

export interface Check {
  scenario: string;
  concurrency: number;
  target: string;
  verdict: Verdict;
  detail: string;
}

/** Berth's peak RSS while 32 clients push large layers, in bytes. */
const RSS_LIMIT = 250e6;

interface RatioTarget {
  minRatio: number;
  lowerP99: boolean;
}

/** Targets as ratios of Berth's requests per second to Distribution's in the same run. */
const RATIO_TARGETS: Record<string, RatioTarget> = {
  'manifest-get': { minRatio: 5, lowerP99: true },
  'blob-head': { minRatio: 5, lowerP99: true },
  'push-small': { minRatio: 3, lowerP99: false },
  'catalog-paged': { minRatio: 20, lowerP99: false },
  'catalog-full': { minRatio: 20, lowerP99: false },
  'push-large': { minRatio: 1, lowerP99: false },
  'blob-get-large': { minRatio: 1, lowerP99: false },
};

function usable(m: Measurement | undefined): m is Measurement {
  return m !== undefined && m.ops > 0 && m.errors === 0;
}

export function ratio(row: Row): number {
  const b = row.results.berth;
  const d = row.results.distribution;
  return usable(b) && usable(d) ? b.opsPerSec / d.opsPerSec : Number.NaN;
}

/**
 * The push floor's figures for a row, when it ran: its ratio to Distribution (the most any server
 * with Berth's layout and fsyncs could reach here), how much of it Berth reaches, and each one's
 * CPU per push (the floor's is the disk's and the HTTP stack's share of Berth's).
 */
export function floorLine(row: Row): string | undefined {
  const f = row.results.floor;
  const b = row.results.berth;
  const d = row.results.distribution;
  if (!usable(f)) return undefined;
  const parts = [`floor ${f.opsPerSec.toFixed(1)} ops/s`];
  if (usable(d)) parts.push(`floor/distribution ${(f.opsPerSec / d.opsPerSec).toFixed(2)}x`);
  if (usable(b)) parts.push(`berth/floor ${(b.opsPerSec / f.opsPerSec).toFixed(2)}`);
  const cpu = (m: Measurement | undefined): string => m?.serverCpuMsPerOp?.toFixed(2) ?? '?';
  parts.push(`CPU ms/op floor ${cpu(f)}, berth ${cpu(b)}, distribution ${cpu(d)}`);
  return parts.join(', ');
}

/**
 * Distribution's server CPU time per operation over Berth's: how much less work Berth does for the
 * same operation. Unlike throughput it hardly moves when other work shares the machine.
 */
export function cpuRatio(row: Row): number {
  const b = row.results.berth?.serverCpuMsPerOp;
  const d = row.results.distribution?.serverCpuMsPerOp;
  return b !== undefined && d !== undefined && b > 0 ? d / b : Number.NaN;
}

/** Every target that applies to the measured rows. */
export function checkTargets(rows: readonly Row[]): Check[] {
  const checks: Check[] = [];
  for (const row of rows) {
    const target = RATIO_TARGETS[row.scenario];
    if (target === undefined) continue;
    const b = row.results.berth;
    const d = row.results.distribution;
    const text = `>= ${target.minRatio}x ops/s${target.lowerP99 ? ', lower p99' : ''}`;
    if (!usable(b) || !usable(d)) {
      const failed = [b, d].find((m) => m !== undefined && m.errors > 0);
      checks.push({
        scenario: row.scenario,
        concurrency: row.concurrency,
        target: text,
        verdict: b !== undefined && b.errors > 0 ? 'MISS' : 'n/a',
        detail: failed?.firstError ?? 'not measured',
      });
      continue;
    }
    const r = b.opsPerSec / d.opsPerSec;
    const p99ok = !target.lowerP99 || b.p99Ms < d.p99Ms;
    checks.push({
      scenario: row.scenario,
      concurrency: row.concurrency,
      target: text,
      verdict: r >= target.minRatio && p99ok ? 'PASS' : 'MISS',
      detail: `${r.toFixed(2)}x` + (target.lowerP99 ? `, p99 ${fmtMs(b.p99Ms)} vs ${fmtMs(d.p99Ms)} ms` : ''),
    });
  }
  const bigPush = rows.find((r) => r.scenario === 'push-large' && r.concurrency === 32);
  const rss = bigPush?.results.berth?.peakRssBytes;
  checks.push({
    scenario: 'push-large',
    concurrency: 32,
    target: 'Berth peak RSS <= 250 MB',
    verdict: rss === undefined ? 'n/a' : rss <= RSS_LIMIT ? 'PASS' : 'MISS',
    detail: rss === undefined ? 'not measured' : `${fmtMB(rss)} MB`,
  });
  return checks;
}

function fmtRate(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function fmtMs(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function fmtCpu(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  return ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

function fmtMB(bytes: number | undefined): string {
  return bytes === undefined ? '-' : (bytes / 1e6).toFixed(0);
}

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

function cells(m: Measurement | undefined): string[] {
  if (m === undefined) return ['-', '-', '-', '-', '-', '-'];
  if (m.errors > 0 && m.ops === 0) return ['ERR', '-', '-', '-', fmtMB(m.peakRssBytes), '-'];
  const mbps = m.mbPerSec >= 0.05 ? fmtRate(m.mbPerSec) : '-';
  const ops = m.errors > 0 ? `${fmtRate(m.opsPerSec)}!` : fmtRate(m.opsPerSec);
  return [ops, mbps, fmtMs(m.p50Ms), fmtMs(m.p99Ms), fmtMB(m.peakRssBytes), fmtCpu(m.serverCpuMsPerOp)];
}

/** The results table: one line per scenario and concurrency level. */
export function formatTable(rows: readonly Row[], checks: readonly Check[]): string {
  const header = [
    'scenario',
    'c',
    'B ops/s',
    'B MB/s',
    'B p50ms',
    'B p99ms',
    'B RSS MB',
    'B CPU ms/op',
    'D ops/s',
    'D MB/s',
    'D p50ms',
    'D p99ms',
    'D RSS MB',
    'D CPU ms/op',
    'B/D',
    'CPU D/B',
    'target',
  ];
  const lines = rows.map((row) => {
    const check = checks.find((c) => c.scenario === row.scenario && c.concurrency === row.concurrency);
    return [
      row.scenario,
      String(row.concurrency),
      ...cells(row.results.berth),
      ...cells(row.results.distribution),
      Number.isFinite(ratio(row)) ? `${ratio(row).toFixed(2)}x` : '-',
      Number.isFinite(cpuRatio(row)) ? `${cpuRatio(row).toFixed(2)}x` : '-',
      check === undefined ? '' : check.verdict,
    ];
  });
  return table(header, lines);
}

export function formatChecks(checks: readonly Check[]): string {
  return table(
    ['scenario', 'c', 'target', 'verdict', 'measured'],
    checks.map((c) => [c.scenario, String(c.concurrency), c.target, c.verdict, c.detail]),
  );
}
