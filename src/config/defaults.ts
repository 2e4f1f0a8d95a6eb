/**
 * The configuration `berth serve` uses when it is given no config file.
 */
import type { Config } from './load.js';
import { parseConfig } from './load.js';

/** Port of the built-in configuration (the distribution registry's customary port). */
export const DEFAULT_PORT = 5000;

/**
 * The embedded default: listen on 127.0.0.1:5000, store under `./data` (resolved against
 * `process.cwd()`), no authentication, log level info. Built through the same schema as a file,
 * so every default a file would get applies here too.
 */
export function defaultConfig(): Config {
  return parseConfig(
    {
      storage: { rootDirectory: 'data' },
      http: { address: '127.0.0.1', port: DEFAULT_PORT },
      log: { level: 'info' },
    },
    { baseDir: process.cwd() },
  ).config;
}
