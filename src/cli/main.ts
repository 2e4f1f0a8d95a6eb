#!/usr/bin/env node
/**
 * The `berth` command: `serve [CONFIG]`, `verify CONFIG [--online]`, `migrate FROM TO` and the one-off
 * commands. Tools depend on these names, their
 * arguments and exit codes: keep them stable.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Command } from 'commander';
import { loadConfigFile, defaultConfig, ConfigError, type Config } from '../config/index.js';
import { createLogger } from '../logging.js';
import { buildApp, configRefusals } from '../app.js';
import { authenticationConfigured } from '../auth/authentication-configured.js';
import { gcCommand } from './gc.js';
import { scrubCommand } from './scrub.js';
import { keysCommand } from './keys.js';
import { doctorCommand } from './doctor.js';
import { migrateCommand } from './migrate.js';
import { verifyCommand } from './verify.js';
import { humanDestination, wantsHumanLogs } from './human-log.js';
import { watchConfigFile } from '../config/reload.js';
import { rotateTokenKeyCommand } from './rotate-token-key.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The URL clients use for a bound address: a wildcard address is shown as this host's name. */
function listeningUrl(address: string, port: number, tls: boolean): string {
  const host =
    address === '0.0.0.0' || address === '::' ? hostname() : address.includes(':') ? `[${address}]` : address;
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

async function serve(file: string | undefined): Promise<void> {
  // libuv's thread pool keeps its default size (4, or UV_THREADPOOL_SIZE from the environment):
  // setting the variable here came too late (the ES module loader starts the pool while reading
  // this file), and starting Berth with 16 threads measured no faster at 32 concurrent small
  // pushes (docs/benchmarks.md, "Group commit").
  let config: Config;
  let warnings: string[] = [];
  try {
    if (file) ({ config, warnings } = await loadConfigFile(file));
    else config = defaultConfig();
    const refused = configRefusals(config);
    if (refused) throw refused;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`berth: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const human = config.log.output === undefined && wantsHumanLogs() ? humanDestination() : undefined;
  const log = createLogger({ level: config.log.level, output: config.log.output, human });
  for (const warning of warnings) log.warn({ config: file }, warning);
  if (!file)
    log.info(
      { rootDirectory: config.storage.rootDirectory },
      'no configuration file given: serving the embedded default',
    );
  if (!isLoopback(config.http.address) && !authenticationConfigured(config)) {
    log.warn(
      { address: config.http.address },
      'listening beyond loopback without authentication: anyone who can reach this port can push and delete',
    );
  }
  const app = await buildApp(config, log);
  const address = await app.listen();
  const url = listeningUrl(address.address, address.port, config.http.tls !== undefined);
  const listening = { address: address.address, port: address.port, url, version: pkg.version };
  log.info(listening, 'listening');
  // A person at a terminal sees where to point their clients, and what the config file got wrong.
  if (human !== undefined) {
    const lines = [
      `\nBerth ${pkg.version} is serving ${url}${file ? `  (configuration: ${file})` : ''}`,
      ...(warnings.length === 0
        ? []
        : [
            `${warnings.length} warning${warnings.length === 1 ? '' : 's'} about the configuration:`,
            ...warnings.map((w) => `  - ${w}`),
          ]),
      `Try: curl ${url}/v2/_catalog    Stop: Ctrl-C    Reload the configuration: edit the file, or kill -HUP ${process.pid}\n\n`,
    ];
    process.stderr.write(lines.join('\n'));
  }
  // Supervisors and tests wait for this line, whatever log level the configuration chose.
  if (!log.isLevelEnabled('info'))
    process.stdout.write(
      `${JSON.stringify({ level: 30, time: new Date().toISOString(), ...listening, msg: 'listening' })}\n`,
    );

  // Live reload (config/reload.ts): the file changing, or SIGHUP. Without a file, SIGHUP does nothing.
  const watcher =
    file === undefined
      ? undefined
      : watchConfigFile({
          file,
          log,
          refusals: configRefusals,
          apply: async (next) => {
            const needRestart = await app.reload(next);
            for (const key of needRestart) log.warn({ key }, `${key} changed: takes effect after a restart`);
          },
        });
  process.on('SIGHUP', () => void watcher?.reload('SIGHUP'));

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    // Whatever happens to the graceful path (a stuck client, a broken log pipe), exit eventually.
    setTimeout(() => process.exit(1), 40_000).unref();
    watcher?.close();
    app.close().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const program = new Command('berth')
  .description('Berth: an OCI container registry, a drop-in replacement for zot')
  .version(pkg.version, '-v, --version');

program
  .command('serve')
  .description('run the registry (with no CONFIG: 127.0.0.1:5000, storage in ./data, open access)')
  .argument('[config]', 'zot-format JSON configuration file')
  .action(serve);

program.addCommand(verifyCommand());

program.addCommand(gcCommand());
program.addCommand(scrubCommand());
program.addCommand(keysCommand());
program.addCommand(doctorCommand());
program.addCommand(migrateCommand());
program.addCommand(rotateTokenKeyCommand());

await program.parseAsync(process.argv);
