/**
 * `berth verify CONFIG [--online]`: checks a configuration file and exits non-zero naming the bad
 * key. Without `--online` only the file is read (nothing is contacted). With it, the storage and
 * the metadata database the file points at are also checked for reachability and writes
 * (`verify-online.ts`), each printed with what was checked.
 *
 * Exit codes: 0 valid (and, with --online, reachable and writable), 1 otherwise.
 */
import { Command } from 'commander';
import { ConfigError, loadConfigFile, type Config } from '../config/index.js';
import { configRefusals } from '../app.js';
import { onlineChecks } from './verify-online.js';

async function verify(file: string, flags: { online?: boolean }): Promise<void> {
  let config: Config;
  try {
    const loaded = await loadConfigFile(file);
    config = loaded.config;
    const refused = configRefusals(config);
    if (refused) throw refused;
    for (const warning of loaded.warnings) process.stdout.write(`warning: ${warning}\n`);
    process.stdout.write(`${file}: configuration is valid\n`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${file}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (!flags.online) return;
  const findings = await onlineChecks(config);
  for (const f of findings) {
    if (f.ok) process.stdout.write(`${f.check}: ok: ${f.message}\n`);
    else process.stderr.write(`${file}: ${f.key}: ${f.check} check failed: ${f.message}\n`);
  }
  if (findings.some((f) => !f.ok)) process.exit(1);
  process.stdout.write(`${file}: storage and metadata database are reachable and writable\n`);
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('check a configuration file; exits non-zero naming the bad key')
    .argument('<config>', 'zot-format JSON configuration file')
    .option('--online', 'also check that the storage and the metadata database are reachable and writable')
    .action(verify);
}
