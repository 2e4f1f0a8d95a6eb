/**
 * `berth scrub CONFIG [--json] [--repository NAME...]`: re-hashes every blob and manifest and
 * checks that everything each repository names is present; reports per repository. Read-only, so
 * safe while the server runs.
 *
 * Exit codes: 0 clean, 1 problems found, 2 bad configuration.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { ConfigError, loadConfigFile, type Config } from '../config/index.js';
import { openStore } from '../gc/open-store.js';
import { onDemandRepositories } from '../scrub/extension.js';
import { formatScrubReport, scrubStore } from '../scrub/scrub.js';
import { Progress } from './progress.js';

interface ScrubFlags {
  json?: boolean;
  repository?: string[];
}

function fail(message: string): never {
  process.stderr.write(`berth scrub: ${message}\n`);
  process.exit(2);
}

async function runScrub(file: string, flags: ScrubFlags): Promise<void> {
  let config: Config;
  try {
    ({ config } = await loadConfigFile(file));
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration: ${err.message}`);
    throw err;
  }
  const log = pino({ level: 'error', base: null }, pino.destination(2));
  const store = await openStore(config, log).catch((err: unknown) => fail((err as Error).message));
  try {
    const progress = new Progress('scrub', { unit: 'repositories', bytesLabel: 're-hashed' });
    const report = await scrubStore({
      registry: store.registry,
      log,
      onStart: (total) => progress.start(total),
      onRepository: (result) => progress.tick(result.bytes),
      onDemand: onDemandRepositories(config),
      ...(flags.repository?.length ? { repositories: flags.repository } : {}),
    });
    progress.finish();
    process.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : formatScrubReport(report)}\n`);
    process.exitCode = report.problems.length === 0 ? 0 : 1;
  } finally {
    await store.close();
  }
}

export function scrubCommand(): Command {
  return new Command('scrub')
    .description(
      're-hash every blob and manifest and report corrupt or missing content; exits 1 when anything is wrong',
    )
    .argument('<config>', 'zot-format JSON configuration file')
    .option('--json', 'print the report as JSON')
    .option('-r, --repository <name...>', 'only these repositories')
    .action(runScrub);
}
