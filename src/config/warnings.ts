/**
 * Warnings about settings that load but probably do not do what their author expects: values zot
 * adjusts silently, patterns that can never match, deprecated spellings. Returned to the caller,
 * never logged here.
 */
import { formatDuration, parseDuration } from './duration.js';
import { problemAt, type KeyPath } from './errors.js';
import type { Config } from './load.js';
import { ACTIONS } from './schema/access-control.js';
import { MIN_BACKGROUND_INTERVAL_MS } from './schema/extensions.js';
import { COMPAT_MODES, DIST_SPEC_VERSION } from './schema/root.js';

/** distSpecVersion values that describe what Berth serves. */
const COMPATIBLE_SPEC_VERSIONS = ['1.1.0', '1.1.1'];

const warn = (path: KeyPath, text: string): string => problemAt(path, text).message;

/** Reads a value from the canonicalised input by key path. */
function rawAt(raw: unknown, ...keys: string[]): unknown {
  let node = raw;
  for (const key of keys) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Warnings for a config that parsed; `raw` is the canonicalised input, `config` the result. */
export function adviceWarnings(raw: unknown, config: Config): string[] {
  const warnings: string[] = [];

  if (!COMPATIBLE_SPEC_VERSIONS.includes(config.distSpecVersion)) {
    warnings.push(
      warn(
        ['distSpecVersion'],
        `${JSON.stringify(config.distSpecVersion)} is not a version Berth serves; Berth implements ${DIST_SPEC_VERSION}, ignored`,
      ),
    );
  }

  const storage = config.storage;
  if (!storage.gc) {
    for (const key of ['gcDelay', 'gcInterval', 'gcTimeWindow'] as const) {
      if (rawAt(raw, 'storage', key) !== undefined)
        warnings.push(warn(['storage', key], 'set while storage.gc is false; ignored'));
    }
  }

  warnings.push(...remoteCacheWarnings(raw, storage));

  const http = config.http;
  if (http.externalUrl !== undefined && !/^https?:\/\/[^/]/i.test(http.externalUrl)) {
    warnings.push(
      warn(
        ['http', 'externalUrl'],
        `${JSON.stringify(http.externalUrl)} is not an absolute http(s) URL; redirects built from it will not work`,
      ),
    );
  }
  http.compat.forEach((mode, index) => {
    if (!(COMPAT_MODES as readonly string[]).includes(mode)) {
      warnings.push(
        warn(
          ['http', 'compat', index],
          `unknown mode ${JSON.stringify(mode)} is ignored (known: ${COMPAT_MODES.join(', ')})`,
        ),
      );
    }
  });

  for (const [name, provider] of Object.entries(http.auth?.openid?.providers ?? {})) {
    const at = ['http', 'auth', 'openid', 'providers', name];
    const inline =
      rawAt(raw, 'http', 'auth', 'openid', 'providers', name, 'clientid') !== undefined ||
      rawAt(raw, 'http', 'auth', 'openid', 'providers', name, 'clientsecret') !== undefined;
    if (inline && provider.credentialsFile !== undefined) {
      warnings.push(warn(at, 'inline clientid/clientsecret are overridden by credentialsFile'));
    } else if (inline) {
      warnings.push(
        warn(at, 'deprecated: put clientid and clientsecret in a credentialsFile rather than in the config'),
      );
    }
  }

  const access = http.accessControl;
  if (access) {
    const base: KeyPath = ['http', 'accessControl'];
    const checkActions = (path: KeyPath, actions: readonly string[]) => {
      for (const action of actions) {
        if (!(ACTIONS as readonly string[]).includes(action)) {
          warnings.push(
            warn(
              path,
              `unknown action ${JSON.stringify(action)} grants nothing (actions: ${ACTIONS.join(', ')})`,
            ),
          );
        }
      }
    };
    for (const [pattern, group] of Object.entries(access.repositories)) {
      const at = [...base, 'repositories', pattern];
      if (pattern.startsWith('/')) {
        warnings.push(warn(at, 'starts with "/" and never matches: repository names have no leading slash'));
      }
      group.policies.forEach((policy, index) =>
        checkActions([...at, 'policies', index, 'actions'], policy.actions),
      );
      checkActions([...at, 'defaultPolicy'], group.defaultPolicy);
      checkActions([...at, 'anonymousPolicy'], group.anonymousPolicy);
    }
    checkActions([...base, 'adminPolicy', 'actions'], access.adminPolicy.actions);
    checkActions([...base, 'metrics', 'anonymousPolicy'], access.metrics.anonymousPolicy);
  }

  const raisedInterval = (path: string[]) => {
    const text = rawAt(raw, ...path);
    if (typeof text !== 'string') return;
    try {
      if (parseDuration(text.trim()) < MIN_BACKGROUND_INTERVAL_MS) {
        warnings.push(
          warn(
            path,
            `${JSON.stringify(text)} is below the minimum; using ${formatDuration(MIN_BACKGROUND_INTERVAL_MS)}`,
          ),
        );
      }
    } catch {
      // Already validated by the schema.
    }
  };
  raisedInterval(['extensions', 'search', 'cve', 'updateInterval']);
  raisedInterval(['extensions', 'scrub', 'interval']);

  config.extensions?.sync?.registries.forEach((registry, index) => {
    const periodic =
      registry.content.length > 0 && registry.pollInterval !== undefined && registry.pollInterval > 0;
    if (!registry.onDemand && !periodic) {
      warnings.push(
        warn(
          ['extensions', 'sync', 'registries', index],
          'neither onDemand nor content with a pollInterval: this registry is never used',
        ),
      );
    }
  });

  return warnings;
}

/** `remoteCache` + `cacheDriver`: Berth acts on them only as the pair that selects PostgreSQL. */
function remoteCacheWarnings(raw: unknown, storage: Config['storage']): string[] {
  const name = storage.cacheDriver?.['name'];
  if (storage.cacheDriver !== undefined && name !== 'postgres') {
    return [
      warn(
        ['storage', 'cacheDriver', 'name'],
        `${JSON.stringify(name ?? null)} is not implemented (Berth's remote metadata driver is "postgres"); metadata stays in the embedded SQLite database`,
      ),
    ];
  }
  if (name === 'postgres' && !storage.remoteCache) {
    return [
      warn(
        ['storage', 'cacheDriver'],
        'set while storage.remoteCache is false; ignored (metadata stays in SQLite)',
      ),
    ];
  }
  if (name === undefined && rawAt(raw, 'storage', 'remoteCache') === true) {
    return [
      warn(
        ['storage', 'remoteCache'],
        'true without a "postgres" cacheDriver; metadata stays in the embedded SQLite database',
      ),
    ];
  }
  return [];
}
