/**
 * `berth gc CONFIG [--dry-run] [--as-of TIME] [--json] [--force]`: one garbage collection of the
 * store with the configuration's `gcDelay` and `retention`, then exit. `--dry-run` changes nothing
 * and prints what would go and the bytes that would be freed; it is safe while the server runs.
 * A real collection refuses to run while a server answers on the configured address: the server
 * collects garbage itself, and two processes collecting one store would not see each other's locks.
 *
 * Exit codes: 0 done, 1 some repository could not be collected, 2 bad configuration or refused.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { auditLogFor } from '../audit/audit-log.js';
import {
  ConfigError,
  DEFAULT_GC_DELAY_MS,
  loadConfigFile,
  parseDuration,
  type Config,
} from '../config/index.js';
import { GarbageCollector } from '../gc/collector.js';
import { observeRepository } from '../gc/observe.js';
import { openStore } from '../gc/open-store.js';
import { formatSweepReport, totalsOf } from '../gc/report.js';
import { RetentionPolicies } from '../gc/retention.js';
import { PullLedger } from '../gc/usage.js';
import { Progress } from './progress.js';
import { probe } from '../doctor/checks.js';

interface GcFlags {
  dryRun?: boolean;
  asOf?: string;
  json?: boolean;
  force?: boolean;
}

/** `2026-09-01T00:00:00Z`, or `+36h` (from now), as ms since the epoch. */
export function parseAsOf(text: string, now = Date.now()): number {
  if (text.startsWith('+')) return now + parseDuration(text.slice(1));
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new Error(
      `--as-of: expected an ISO 8601 time or +DURATION (e.g. +36h), got ${JSON.stringify(text)}`,
    );
  return at;
}

/** Whether a Berth (or zot) server answers /livez on the configured address. */
async function serverAnswers(config: Config): Promise<string | undefined> {
  const address =
    config.http.address === '0.0.0.0' || config.http.address === ''
      ? '127.0.0.1'
      : config.http.address === '::'
        ? '::1'
        : config.http.address;
  const scheme = config.http.tls === undefined ? 'http' : 'https';
  const url = `${scheme}://${address.includes(':') ? `[${address}]` : address}:${config.http.port}/livez`;
  try {
    // Only "does something answer here": the certificate need not be valid for this name.
    const answer = await probe(url, { insecure: true, timeoutMs: 1_000 });
    return answer.status === 200 ? url : undefined;
  } catch {
    return undefined;
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`berth gc: ${message}\n`);
  process.exit(code);
}

async function runGc(file: string, flags: GcFlags): Promise<void> {
  let config: Config;
  try {
    ({ config } = await loadConfigFile(file));
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration: ${err.message}`, 2);
    throw err;
  }
  let now: number | undefined;
  try {
    now = flags.asOf === undefined ? undefined : parseAsOf(flags.asOf);
  } catch (err) {
    fail((err as Error).message, 2);
  }
  const dryRun = flags.dryRun ?? false;
  if (!dryRun && !flags.force) {
    if (config.http.port === 0)
      process.stderr.write(
        'berth gc: http.port is 0, so a running server cannot be detected; make sure none serves this store\n',
      );
    const live = config.http.port === 0 ? undefined : await serverAnswers(config);
    if (live) {
      fail(
        `a server answers at ${live}: it collects garbage itself every storage.gcInterval. Stop it first, ` +
          'or use --dry-run (--force if that server uses another store)',
        2,
      );
    }
  }
  const log = pino({ level: 'warn', base: null }, pino.destination(2));
  const store = await openStore(config, log).catch((err: unknown) => fail((err as Error).message, 2));
  try {
    const storage = config.storage;
    // With gc off the schema leaves gcDelay at 0; an explicit collection still spares recent content.
    const delayMs = storage.gc ? storage.gcDelay : storage.gcDelay || DEFAULT_GC_DELAY_MS;
    const audit = dryRun ? undefined : auditLogFor({ config, log, registry: store.registry });
    const progress = new Progress('gc', {
      unit: 'repositories',
      bytesLabel: dryRun ? 'would be freed' : 'freed',
    });
    const collector = new GarbageCollector({
      registry: store.registry,
      log,
      delayMs,
      retention: new RetentionPolicies(storage.retention, delayMs),
      ...(now === undefined ? {} : { now: () => now }),
      dryRun,
      pulls: new PullLedger(store.meta.pullTimes),
      onRepository: (report) => {
        observeRepository(report, { log, audit });
        progress.tick(report.freedBytes);
      },
    });
    // The count for the progress line only; the sweep lists the store itself.
    if (process.stderr.isTTY) progress.start((await store.registry.repositories()).length);
    const report = await collector.sweep();
    progress.finish();
    audit?.close();
    process.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : formatSweepReport(report)}\n`);
    if (totalsOf(report.repositories).errors > 0) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

export function gcCommand(): Command {
  return new Command('gc')
    .description('collect garbage once (gcDelay and retention from CONFIG) and exit; --dry-run only reports')
    .argument('<config>', 'zot-format JSON configuration file')
    .option('--dry-run', 'change nothing: print what would be removed and the bytes that would be freed')
    .option(
      '--as-of <time>',
      'measure ages as if it were TIME (ISO 8601, or +DURATION from now such as +36h)',
    )
    .option('--json', 'print the report as JSON')
    .option('--force', 'collect even though a server answers on the configured address')
    .action(runGc);
}
