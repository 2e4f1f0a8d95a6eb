/**
 * `berth doctor CONFIG`: checks the data directory, TLS files, OpenID providers, sync upstreams
 * and the clock (src/doctor/checks.ts), prints one line per finding, and exits 0 when nothing is
 * wrong, 1 when something is (warnings alone do not fail), 2 when the configuration is invalid.
 */
import { Command } from 'commander';
import { configRefusals } from '../app.js';
import { ConfigError, loadConfigFile, type Config } from '../config/index.js';
import { runDoctor, type Finding, type Severity } from '../doctor/checks.js';

const MARK: Record<Severity, [string, string]> = {
  ok: ['ok  ', '\x1b[32m'],
  warning: ['warn', '\x1b[33m'],
  problem: ['FAIL', '\x1b[31m'],
};

async function doctor(file: string, flags: { json?: boolean }): Promise<void> {
  let config: Config;
  let warnings: string[];
  try {
    ({ config, warnings } = await loadConfigFile(file));
    const refused = configRefusals(config);
    if (refused) throw refused;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stdout.write(`FAIL configuration  ${file}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const findings: Finding[] = [
    { check: 'configuration', severity: 'ok', message: `${file} is valid` },
    ...warnings.map((w): Finding => ({ check: 'configuration', severity: 'warning', message: w })),
    ...(await runDoctor(config)),
  ];
  if (flags.json) process.stdout.write(`${JSON.stringify({ findings }, null, 2)}\n`);
  else {
    const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
    for (const f of findings) {
      const [mark, tint] = MARK[f.severity];
      process.stdout.write(`${colour ? `${tint}${mark}\x1b[0m` : mark} ${f.check.padEnd(15)} ${f.message}\n`);
    }
    const problems = findings.filter((f) => f.severity === 'problem').length;
    const warned = findings.filter((f) => f.severity === 'warning').length;
    process.stdout.write(
      problems === 0
        ? `\nNo problems found${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}.\n`
        : `\n${problems} problem${problems === 1 ? '' : 's'} found.\n`,
    );
  }
  process.exitCode = findings.some((f) => f.severity === 'problem') ? 1 : 0;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check the data directory, TLS files, OIDC issuers, sync upstreams and the clock')
    .argument('<config>', 'zot-format JSON configuration file')
    .option('--json', 'print the findings as JSON')
    .action(doctor);
}
