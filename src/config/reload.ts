/**
 * Live reload, as zot does it: the one place that notices a configuration change (the file
 * written, or SIGHUP), loads it with the same loader as `berth verify`, and hands a valid result to
 * whoever applies it (`App.reload`). An invalid file is refused with a log line naming the key, and
 * the configuration in force stays.
 *
 * Editors and config-management tools replace files by renaming a new one into place, and
 * Kubernetes swaps a symlink: the folder is watched (not the file's inode), and the file is polled
 * as well because some file systems (network mounts, some overlays) send no events. Changes are
 * debounced, so a write in several pieces is read once it settled; a file whose content did not
 * change is not applied again.
 */
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from './errors.js';
import { loadConfigFile, type Config } from './load.js';

export interface ReloadOptions {
  readonly file: string;
  readonly log: Logger;
  /** Checks beyond the schema that `verify` and `serve` apply (`configRefusals`). */
  readonly refusals?: (config: Config) => ConfigError | undefined;
  /** Applies a valid configuration; throws (ConfigError naming a key, or any error) to refuse it. */
  readonly apply: (config: Config, warnings: string[]) => Promise<void>;
  /** Wait for the file to settle. Default 300 ms. */
  readonly debounceMs?: number;
}

export interface ConfigWatcher {
  /** Reloads now (SIGHUP), whether or not the file changed; resolves once applied or refused. */
  reload(reason: string): Promise<boolean>;
  close(): void;
}

export function watchConfigFile(options: ReloadOptions): ConfigWatcher {
  const file = path.resolve(options.file);
  const log = options.log.child({ component: 'config', config: file });
  const debounceMs = options.debounceMs ?? 300;
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> = Promise.resolve(true);
  void readFile(file, 'utf8').then(
    (text) => (lastText ??= text),
    () => undefined,
  );

  const run = async (reason: string, force: boolean): Promise<boolean> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      log.error(
        { err: { message: (err as Error).message } },
        'configuration file unreadable; the configuration in force stays',
      );
      return false;
    }
    if (!force && text === lastText) return true;
    lastText = text;
    try {
      const { config, warnings } = await loadConfigFile(file);
      const refused = options.refusals?.(config);
      if (refused) throw refused;
      await options.apply(config, warnings);
      for (const warning of warnings) log.warn(warning);
      log.info({ reason }, 'configuration reloaded');
      return true;
    } catch (err) {
      if (err instanceof ConfigError) {
        log.error(
          { reason, key: err.keyPath, problem: err.message },
          `configuration refused: ${err.message}; the configuration in force stays`,
        );
      } else {
        log.error(
          { reason, err: { message: (err as Error).message } },
          'configuration could not be applied; the configuration in force stays',
        );
      }
      return false;
    }
  };
  const schedule = (reason: string, force: boolean): Promise<boolean> => {
    running = running.then(() => run(reason, force));
    return running;
  };
  const onChange = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void schedule('file changed', false), debounceMs);
    timer.unref();
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path.dirname(file), { persistent: false }, (_event, name) => {
      if (name === null || name === path.basename(file) || name.startsWith('..')) onChange();
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // polling below still notices changes
  }
  watchFile(file, { persistent: false, interval: 2_000 }, onChange);

  return {
    reload: (reason) => schedule(reason, true),
    close: () => {
      clearTimeout(timer);
      watcher?.close();
      unwatchFile(file, onChange);
    },
  };
}

/**
 * What a reload applies; every other key keeps its old value until a restart. zot reloads a
 * similar set (`UpdateReloadableConfig`); Berth adds the TLS file paths and the mTLS mapping.
 */
export const RELOADABLE_KEYS: readonly string[] = [
  'http.accessControl',
  'http.auth.htpasswd',
  'http.auth.apikey',
  'http.auth.openid',
  'http.auth.failDelay',
  'http.auth.mtls',
  'http.tls.cert',
  'http.tls.key',
  'http.tls.cacert',
  'extensions.sync',
];

function differs(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}

/** Keys that changed between two configurations but take effect only after a restart. */
export function changesNeedingRestart(previous: Config, next: Config): string[] {
  const changed: string[] = [];
  const walk = (a: unknown, b: unknown, at: string): void => {
    if (RELOADABLE_KEYS.includes(at) || !differs(a, b)) return;
    const isObject = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(a) || !isObject(b) || !RELOADABLE_KEYS.some((k) => k.startsWith(`${at}.`) || at === '')) {
      changed.push(at);
      return;
    }
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
      walk(a[key], b[key], at === '' ? key : `${at}.${key}`);
  };
  walk(previous, next, '');
  return changed;
}
