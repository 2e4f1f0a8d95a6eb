/**
 * `berth migrate FROM.json TO.json [--dry-run] [--jobs N] [--keep-going] [--json]`: copies every
 * repository of the store FROM describes into the store TO describes: a filesystem store (Berth's,
 * or a zot data directory: each repository an OCI image layout) into S3 + PostgreSQL, the growth
 * path of docs/scale-out.md, or between any two stores Berth can serve.
 *
 * Both stores are opened with the server's own code (`open-registry.ts`) and copied through their
 * registry services only, so that the target ends up in exactly the layout its `berth serve` reads,
 * whatever that layout is. Per repository: blobs (verified by the upload service as they stream),
 * manifests children first, then tags. Then the accounts (`migrate-accounts.ts`: API keys, users,
 * stars...) from the source's metadata store, through the target's ports. Resumable: each run
 * plans only what the target lacks, so a run after an interruption copies the rest and says how
 * much was already there. The source is only read: a filesystem source is indexed in a scratch
 * database outside its folder, and its own database is read from a snapshot copied there.
 *
 * Progress on a terminal (items, bytes, rate, ETA); nothing but the report in a script.
 * Exit codes: 0 done, 1 a step failed (the message names the repository and the item; run again
 * to resume), 2 bad configuration or refused.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { pino, type Logger } from 'pino';
import { ConfigError, loadConfigFile, parseConfig, type Config } from '../config/index.js';
import { postgresSettings } from '../config/schema/postgres.js';
import { configRefusals } from '../app.js';
import { metadataLocation } from '../config/metadata-location.js';
import { openSqliteSnapshot } from '../meta/open.js';
import type { MetadataStore } from '../meta/store.js';
import { formatBytes } from '../gc/report.js';
import { openRegistry, type OpenedRegistry } from '../open-registry.js';
import { accountLines, copyAccounts, emptyAccountsReport, type AccountsReport } from './migrate-accounts.js';
import { MigrationStepError, RepositoryCopier } from './migrate-copy.js';
import {
  listRepositories,
  planRepository,
  toCopy,
  type Counts,
  type RepositoryPlan,
} from './migrate-plan.js';
import { Progress } from './progress.js';

interface MigrateFlags {
  dryRun?: boolean;
  jobs: number;
  keepGoing?: boolean;
  json?: boolean;
}

export interface MigrationReport {
  from: string;
  to: string;
  dryRun: boolean;
  repositories: number;
  copied: { blobs: number; mounted: number; manifests: number; tags: number; bytes: number };
  alreadyPresent: Counts;
  missingInSource: { repo: string; digest: string }[];
  retagged: { repo: string; tag: string; from: string; to: string }[];
  failures: { repo: string; message: string }[];
  accounts: AccountsReport;
  seconds: number;
}

class Refusal extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`berth migrate: ${message}\n`);
  process.exit(code);
}

/**
 * The target's configuration is loaded whole: the store will be served, so what `berth serve`
 * would refuse is refused here. Of the source's only `storage` counts: a zot configuration copied
 * from its machine may name side files (htpasswd, OIDC secrets) that are not where migrate runs.
 */
async function load(file: string, target: boolean): Promise<Config> {
  try {
    if (target) {
      const { config } = await loadConfigFile(file);
      const refused = configRefusals(config);
      if (refused) throw refused;
      return config;
    }
    const absolute = path.resolve(file);
    let raw: unknown;
    try {
      raw = JSON.parse((await readFile(absolute, 'utf8')).replace(/^\uFEFF/, ''));
    } catch {
      // Unreadable or not JSON: the full loader says which, in its words.
      return (await loadConfigFile(file)).config;
    }
    const keys = typeof raw === 'object' && raw !== null ? Object.entries(raw) : [];
    // Keys are case-insensitive in zot's format.
    const pick = (name: string): unknown => keys.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const storageOnly = { distSpecVersion: pick('distSpecVersion') ?? '1.1.0', storage: pick('storage') };
    return parseConfig(storageOnly, { baseDir: path.dirname(absolute) }).config;
  } catch (err) {
    if (err instanceof ConfigError) throw new Refusal(`${file}: invalid configuration: ${err.message}`);
    throw new Refusal(`${file}: ${(err as Error).message}`);
  }
}

/** Where a store keeps its bytes, to refuse copying a store onto itself. */
function storeIdentity(config: Config): string {
  const driver = config.storage.storageDriver;
  if (driver !== undefined) {
    return `remote:${JSON.stringify([driver['name'], driver['regionendpoint'], driver['bucket'], driver['rootdirectory']])}`;
  }
  return `file://${path.resolve(config.storage.rootDirectory)}`;
}

/**
 * Refuses a store this build cannot serve: until the registry serves a remote driver, the opener
 * builds the filesystem driver over `rootDirectory`, and a migration "into S3" would land on local disk.
 */
function requireServedDriver(file: string, config: Config, opened: OpenedRegistry): void {
  const wanted = config.storage.storageDriver?.['name'];
  if (typeof wanted === 'string' && opened.registry.driver.name !== wanted) {
    throw new Refusal(
      `${file}: storage.storageDriver: this build of Berth does not serve from ${wanted} storage yet, ` +
        'so it cannot migrate to or from it',
    );
  }
}

/** Scratch folders are named after their process, so that a run can tidy up after killed ones. */
const SCRATCH_PREFIX = 'berth-migrate-scratch-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

/** Removes the scratch folders of runs that were killed (their process is gone). */
async function removeDeadScratch(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const pid = name.startsWith(SCRATCH_PREFIX)
      ? Number.parseInt(name.slice(SCRATCH_PREFIX.length), 10)
      : NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid))
      await rm(path.join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function openSource(
  file: string,
  config: Config,
  log: Logger,
): Promise<{ opened: OpenedRegistry; scratch?: string }> {
  const local = config.storage.storageDriver === undefined && postgresSettings(config.storage) === undefined;
  if (local && !existsSync(config.storage.rootDirectory))
    throw new Refusal(`${file}: storage.rootDirectory ${config.storage.rootDirectory} does not exist`);
  // A filesystem source's own database (if any: a zot directory has none) is left alone: the
  // layouts are the truth, and indexing them in a scratch database writes nothing into the source.
  if (local) await removeDeadScratch();
  const scratch = local ? await mkdtemp(path.join(tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`)) : undefined;
  const opened = await openRegistry(
    config,
    log,
    scratch ? { metadata: { kind: 'sqlite', file: path.join(scratch, 'source-index.db') } } : {},
  );
  try {
    requireServedDriver(file, config, opened);
    await opened.registry.reconcile();
    return { opened, ...(scratch ? { scratch } : {}) };
  } catch (err) {
    await opened.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The source's account records. A filesystem source's own SQLite database is read from a snapshot
 * in the scratch folder (`openSqliteSnapshot`: nothing is written beside the original, and this
 * build's migrations run on the copy); a zot data directory has none. A source on PostgreSQL
 * is read where it is, through the store already open.
 */
async function openSourceAccounts(
  config: Config,
  source: { opened: OpenedRegistry; scratch?: string },
  log: Logger,
): Promise<{ meta: MetadataStore; close: () => Promise<void> } | { skipped: string }> {
  if (source.scratch === undefined) return { meta: source.opened.meta, close: async () => undefined };
  const location = metadataLocation(config, log);
  if (location.kind !== 'sqlite') return { meta: source.opened.meta, close: async () => undefined };
  const snapshot = await openSqliteSnapshot(location, path.join(source.scratch, 'source-accounts.db'));
  if (snapshot === undefined)
    return {
      skipped: `the source has no Berth metadata database (${location.file}; a zot data directory keeps its users and keys elsewhere)`,
    };
  return { meta: snapshot.meta, close: () => snapshot.meta.close() };
}

async function openTarget(file: string, config: Config, log: Logger): Promise<OpenedRegistry> {
  const opened = await openRegistry(config, log);
  try {
    requireServedDriver(file, config, opened);
    // As `berth serve` does at start: the index in line with what the store holds.
    await opened.registry.reconcile();
    return opened;
  } catch (err) {
    await opened.close();
    throw err;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function planLines(plan: RepositoryPlan): string[] {
  const c = toCopy(plan);
  const lines = [
    `${plan.repo}: ${plural(c.blobs, 'blob')} (${formatBytes(c.bytes)}), ${plural(c.manifests, 'manifest')}, ` +
      `${plural(c.tags, 'tag')} to copy`,
  ];
  for (const b of plan.blobs) lines.push(`  blob      ${b.digest.value}  ${formatBytes(b.size)}`);
  for (const m of plan.manifests) lines.push(`  manifest  ${m.digest.value}  ${m.mediaType}`);
  for (const t of plan.tags)
    lines.push(`  tag       ${t.tag} -> ${t.digest.value}${t.replaces ? ` (now ${t.replaces})` : ''}`);
  return lines;
}

export function formatReport(r: MigrationReport): string {
  const p = r.alreadyPresent;
  const c = r.copied;
  const verb = r.dryRun ? 'to copy' : 'copied';
  const lines = [
    `${r.dryRun ? 'dry run: ' : ''}${r.from} -> ${r.to}: ${r.repositories} ${r.repositories === 1 ? 'repository' : 'repositories'}`,
    `  blobs      ${c.blobs} ${verb} (${formatBytes(c.bytes)})${c.mounted ? `, ${c.mounted} mounted from another repository` : ''}, ${p.blobs} already in the target`,
    `  manifests  ${c.manifests} ${verb}, ${p.manifests} already in the target`,
    `  tags       ${c.tags} ${r.dryRun ? 'to set' : 'set'}, ${p.tags} already in the target`,
  ];
  const accounts = accountLines(r.accounts, r.dryRun);
  lines.push(...accounts.lines);
  const accountsCopied = Object.values(r.accounts.copied).reduce((a, b) => a + b, 0);
  if (!r.dryRun && r.seconds > 0)
    lines.push(
      `  ${formatBytes(c.bytes)} in ${r.seconds.toFixed(1)} s (${formatBytes(c.bytes / r.seconds)}/s)`,
    );
  const nothingLeft =
    c.blobs + c.mounted + c.manifests + c.tags + accountsCopied === 0 && r.failures.length === 0;
  if (nothingLeft && p.blobs + p.manifests + p.tags > 0)
    lines.push('up to date: the target already holds everything of this source');
  else if (p.blobs + p.manifests + p.tags > 0)
    lines.push(
      `resumed: the target already held ${plural(p.blobs, 'blob')} (${formatBytes(p.bytes)}), ` +
        `${plural(p.manifests, 'manifest')} and ${plural(p.tags, 'tag')} of this source; ` +
        `${r.dryRun ? 'only the rest would be copied' : 'only the rest was copied'}`,
    );
  for (const t of r.retagged)
    lines.push(`note: ${t.repo}:${t.tag} pointed at ${t.from} in the target; now ${t.to}, as in the source`);
  for (const m of r.missingInSource)
    lines.push(
      `warning: ${m.repo}: ${m.digest} is referenced but not in the source; the target is left without it, as the source is`,
    );
  lines.push(...accounts.notes);
  for (const f of r.failures) lines.push(`failed: ${f.message}`);
  return lines.join('\n');
}

/** Copies the accounts (or counts them, on a dry run); a failure is reported as one of the run's. */
async function migrateAccounts(
  config: Config,
  source: { opened: OpenedRegistry; scratch?: string },
  target: MetadataStore,
  dryRun: boolean,
  log: Logger,
): Promise<AccountsReport> {
  const opened = await openSourceAccounts(config, source, log);
  if ('skipped' in opened) return emptyAccountsReport(opened.skipped);
  const progress = new Progress('accounts', { unit: 'records' });
  try {
    return await copyAccounts(opened.meta, target, {
      dryRun,
      observer: {
        start: (total) => progress.start(total),
        done: (count) => {
          for (let i = 0; i < count; i++) progress.tick(0);
        },
      },
    });
  } catch (err) {
    throw new Error(`copying the accounts: ${(err as Error).message}`, { cause: err });
  } finally {
    progress.finish();
    await opened.close();
  }
}

async function runMigrate(fromFile: string, toFile: string, flags: MigrateFlags): Promise<void> {
  const started = performance.now();
  const dryRun = flags.dryRun ?? false;
  const log = pino({ level: 'warn', base: null }, pino.destination(2));
  let source: { opened: OpenedRegistry; scratch?: string } | undefined;
  let target: OpenedRegistry | undefined;
  let from: Config;
  const cleanup = async (): Promise<void> => {
    await source?.opened.close().catch(() => undefined);
    await target?.close().catch(() => undefined);
    if (source?.scratch) await rm(source.scratch, { recursive: true, force: true });
  };
  // Ctrl-C: whatever was copied is whole (see migrate-copy.ts); the next run resumes.
  process.once('SIGINT', () => {
    process.stderr.write('\nberth migrate: interrupted; run the same command again to resume\n');
    void cleanup().finally(() => process.exit(130));
  });
  try {
    from = await load(fromFile, false);
    const to = await load(toFile, true);
    if (storeIdentity(from) === storeIdentity(to))
      throw new Refusal(`${fromFile} and ${toFile} describe the same store (${storeIdentity(from)})`);
    source = await openSource(fromFile, from, log);
    target = await openTarget(toFile, to, log);
  } catch (err) {
    await cleanup();
    if (err instanceof Refusal) fail(err.message, 2);
    fail(`cannot open the stores: ${(err as Error).message}`, 2);
  }

  const report: MigrationReport = {
    from: fromFile,
    to: toFile,
    dryRun,
    repositories: 0,
    copied: { blobs: 0, mounted: 0, manifests: 0, tags: 0, bytes: 0 },
    alreadyPresent: { blobs: 0, manifests: 0, tags: 0, bytes: 0 },
    missingInSource: [],
    retagged: [],
    failures: [],
    accounts: emptyAccountsReport(),
    seconds: 0,
  };
  try {
    const repos = await listRepositories(source.opened.registry);
    report.repositories = repos.length;
    const plans: RepositoryPlan[] = [];
    const planning = new Progress('planning', { unit: 'repositories', bytesLabel: 'to copy', rate: false });
    if (process.stderr.isTTY) planning.start(repos.length);
    for (const repo of repos) {
      const plan = await planRepository(source.opened.registry, target.registry, repo);
      plans.push(plan);
      planning.tick(toCopy(plan).bytes);
      for (const key of ['blobs', 'manifests', 'tags', 'bytes'] as const)
        report.alreadyPresent[key] += plan.present[key];
      for (const digest of plan.missingInSource) report.missingInSource.push({ repo, digest });
      for (const t of plan.tags)
        if (t.replaces) report.retagged.push({ repo, tag: t.tag, from: t.replaces, to: t.digest.value });
    }
    planning.finish();
    const totals = plans.map(toCopy).reduce(
      (a, b) => ({
        blobs: a.blobs + b.blobs,
        manifests: a.manifests + b.manifests,
        tags: a.tags + b.tags,
        bytes: a.bytes + b.bytes,
      }),
      { blobs: 0, manifests: 0, tags: 0, bytes: 0 },
    );

    if (dryRun) {
      for (const plan of plans) {
        const c = toCopy(plan);
        if (c.blobs + c.manifests + c.tags > 0) process.stdout.write(`${planLines(plan).join('\n')}\n`);
      }
      report.copied = {
        blobs: totals.blobs,
        mounted: 0,
        manifests: totals.manifests,
        tags: totals.tags,
        bytes: totals.bytes,
      };
    } else {
      const present = report.alreadyPresent;
      if (present.blobs + present.manifests + present.tags > 0 && process.stderr.isTTY)
        process.stderr.write(
          `resuming: the target already holds ${plural(present.blobs, 'blob')}, ${plural(present.manifests, 'manifest')} ` +
            `and ${plural(present.tags, 'tag')} of this source; copying the rest\n`,
        );
      const progress = new Progress('migrate', { unit: 'items', bytesLabel: 'copied' });
      if (process.stderr.isTTY) progress.start(totals.blobs + totals.manifests + totals.tags, totals.bytes);
      const copied = report.copied;
      const copier = new RepositoryCopier(
        source.opened.registry,
        target.registry,
        {
          bytes: (n) => {
            copied.bytes += n;
            progress.advance(n);
          },
          step: (kind) => {
            if (kind === 'blob') copied.blobs++;
            else if (kind === 'mounted') copied.mounted++;
            else if (kind === 'manifest') copied.manifests++;
            else copied.tags++;
            progress.tick(0);
          },
        },
        flags.jobs,
      );
      for (const plan of plans) {
        try {
          await copier.copy(plan);
        } catch (err) {
          if (!(err instanceof MigrationStepError)) throw err;
          report.failures.push({ repo: plan.repo, message: err.message });
          if (!flags.keepGoing) break;
        }
      }
      progress.finish();
    }
    // After the images: a key that works in the target should find the repositories there.
    if (report.failures.length > 0 && !flags.keepGoing)
      report.accounts = emptyAccountsReport('not copied: a repository failed (run again to resume)');
    else report.accounts = await migrateAccounts(from, source, target.meta, dryRun, log);
  } catch (err) {
    report.failures.push({ repo: '', message: (err as Error).message });
  } finally {
    report.seconds = (performance.now() - started) / 1000;
    await cleanup();
  }
  process.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
  if (report.failures.length > 0) {
    process.stderr.write(
      `berth migrate: ${report.failures[0]!.message}\n` +
        'Everything copied so far is complete in the target: run the same command again to resume.\n',
    );
    process.exitCode = 1;
  }
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError('expected a whole number from 1 to 64');
  return n;
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .description(
      'copy every repository of the store FROM describes into the store TO describes (e.g. a filesystem ' +
        'or zot data directory into S3 + PostgreSQL); resumable: run it again after an interruption',
    )
    .argument('<from>', 'configuration of the source store (zot-format JSON)')
    .argument('<to>', 'configuration of the target store (zot-format JSON)')
    .option('--dry-run', 'copy nothing: list what would be copied')
    .option('--jobs <n>', 'blobs copied at once', positive, 4)
    .option('--keep-going', 'after a repository fails, go on with the next one (the exit code is still 1)')
    .option('--json', 'print the report as JSON')
    .action(runMigrate);
}
