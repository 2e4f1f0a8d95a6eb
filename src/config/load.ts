/**
 * Loading a configuration: parse JSON, canonicalise key spelling, validate against the schema,
 * apply defaults, resolve relative paths against the config file's folder, read secret side files,
 * and collect warnings. Nothing here touches the network.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';

import type { z } from 'zod';

import {
  ConfigError,
  describeValue,
  formatKeyPath,
  problemAt,
  type ConfigProblem,
  type KeyPath,
} from './errors.js';
import { unimplementedKeyWarnings } from './implemented.js';
import { canonicaliseKeys } from './keys.js';
import { configSchema, type ParsedConfig } from './schema/root.js';
import { readRegistryCredentials, readSecretFields } from './secrets.js';
import { adviceWarnings } from './warnings.js';

/**
 * A loaded configuration: zot's keys with Berth's defaults applied.
 *
 * - Every duration is in milliseconds (`storage.gcDelay`, `http.auth.failDelay`, sync intervals…).
 * - `http.port` is a number (0 = any free port); `http.address` defaults to `127.0.0.1`.
 * - File paths (`storage.rootDirectory`, htpasswd, side files, TLS, log files, sync folders) are
 *   absolute, resolved against the config file's folder.
 * - Optional lists default to `[]` and maps to `{}` inside present sections; optional sections
 *   (`http.auth`, `http.accessControl`, `http.tls`, `extensions` and each extension) are
 *   `undefined` when absent, so "configured?" is a presence test. An extension's `enable` is
 *   `true` unless the file says otherwise.
 * - OpenID providers carry `clientid`/`clientsecret` from their `credentialsFile`; `scopes` start
 *   with `openid`; `http.auth.apikey` is `true` whenever `openid` is configured.
 */
export type Config = Omit<ParsedConfig, 'goVersion' | 'commit' | 'releaseTag' | 'binaryType'>;

/** A configuration and the warnings worth showing to whoever runs Berth. */
export interface LoadResult {
  config: Config;
  /** One sentence each, starting with the key path: ignored keys, adjusted values, doubtful settings. */
  warnings: string[];
}

/** Options for {@link parseConfig}. */
export interface ParseOptions {
  /** Folder relative paths in the config are resolved against (the config file's folder). */
  baseDir: string;
}

/**
 * Reads and validates a config file. Berth reads JSON only (zot also takes YAML, TOML…); a file
 * with another extension that is not JSON is refused with a message saying so.
 *
 * @throws ConfigError naming the first offending key; `message` lists every problem found.
 */
export async function loadConfigFile(file: string): Promise<LoadResult> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : (error as Error).message;
    throw ConfigError.at([], `cannot read ${absolute}: ${why}`, { cause: error });
  }
  let raw: unknown;
  try {
    // A byte-order mark is common in files saved by Windows editors and means nothing.
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const extension = extname(absolute).toLowerCase();
    const hint =
      extension === '.json' || extension === ''
        ? ''
        : ` (Berth reads JSON config files only; convert this ${extension.slice(1).toUpperCase()} file to JSON)`;
    throw ConfigError.at([], `${absolute} is not valid JSON${hint}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseConfig(raw, { baseDir: dirname(absolute) });
}

/**
 * Validates an already-parsed config document. Performs no file IO except reading the secret side
 * files the config points to.
 *
 * @throws ConfigError naming the first offending key; `message` lists every problem found.
 */
export function parseConfig(raw: unknown, options: ParseOptions): LoadResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw ConfigError.at([], 'must be a JSON object');
  }
  if (Object.keys(raw).length === 0) {
    throw ConfigError.at([], 'is empty; it needs at least storage.rootDirectory');
  }

  const canonical = canonicaliseKeys(raw, configSchema);
  const result = configSchema.safeParse(canonical.value, { error: issueMessage });
  const problems = [
    ...canonical.problems,
    ...(result.success ? [] : result.error.issues.flatMap(toProblems)),
  ];
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const {
    goVersion: _goVersion,
    commit: _commit,
    releaseTag: _releaseTag,
    binaryType: _binaryType,
    ...config
  } = result.data;
  resolvePaths(config, options.baseDir);
  checkStoreRoots(config);
  readSideFiles(config);
  dropUndefined(config);

  const warnings = [
    ...unimplementedKeyWarnings(canonical.value, configSchema),
    ...adviceWarnings(canonical.value, config),
  ];
  return { config, warnings };
}

/** Plain-language messages for zod's own issues (ours carry their message already). */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'required';
    const expected =
      issue.expected === 'object' ? 'an object' : issue.expected === 'array' ? 'a list' : issue.expected;
    return `expected ${expected}, got ${describeValue(issue.input)}`;
  }
  return undefined;
}

function toProblems(issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => problemAt([...path, key], 'unknown key'));
  return [problemAt(path, issue.message)];
}

/** Resolves every local file path in place; remote paths (storageDriver) are left alone. */
function resolvePaths(config: Config, baseDir: string): void {
  const abs = (path: string): string => resolve(baseDir, path);
  const opt = (path: string | undefined): string | undefined => (path === undefined ? undefined : abs(path));

  const { storage, http, log, extensions } = config;
  storage.rootDirectory = abs(storage.rootDirectory);
  for (const store of Object.values(storage.subPaths)) store.rootDirectory = abs(store.rootDirectory);

  if (http.tls) {
    http.tls.cert = abs(http.tls.cert);
    http.tls.key = abs(http.tls.key);
    http.tls.cacert = opt(http.tls.cacert);
  }
  const auth = http.auth;
  if (auth) {
    if (auth.htpasswd) auth.htpasswd.path = abs(auth.htpasswd.path);
    auth.sessionKeysFile = opt(auth.sessionKeysFile);
    if (auth.ldap) {
      auth.ldap.credentialsFile = opt(auth.ldap.credentialsFile);
      auth.ldap.caCert = opt(auth.ldap.caCert);
    }
    if (auth.bearer) auth.bearer.cert = opt(auth.bearer.cert);
    for (const provider of Object.values(auth.openid?.providers ?? {})) {
      provider.credentialsFile = opt(provider.credentialsFile);
      provider.keypath = opt(provider.keypath);
    }
  }
  log.output = opt(log.output);
  log.audit = opt(log.audit);

  const sync = extensions?.sync;
  if (sync) {
    sync.credentialsFile = opt(sync.credentialsFile);
    sync.downloadDir = opt(sync.downloadDir);
    for (const registry of sync.registries) registry.certDir = opt(registry.certDir);
  }
}

const storeKind = (driver: Record<string, unknown> | undefined): string => {
  const name = driver?.['name'];
  return typeof name === 'string' ? name : 'local';
};

/** Removes keys whose value is `undefined`, so an unset setting is simply absent. */
function dropUndefined(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropUndefined(item);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const [key, item] of Object.entries(record)) {
      if (item === undefined) delete record[key];
      else dropUndefined(item);
    }
  }
}

/** Stores of the same kind may not share or nest their root folders (zot's rule). */
function checkStoreRoots(config: Config): void {
  const storage = config.storage;
  const stores = [
    {
      path: ['storage', 'rootDirectory'] as KeyPath,
      root: storage.rootDirectory,
      kind: storeKind(storage.storageDriver),
    },
    ...Object.entries(storage.subPaths).map(([route, store]) => ({
      path: ['storage', 'subPaths', route, 'rootDirectory'] as KeyPath,
      root: store.rootDirectory,
      kind: storeKind(store.storageDriver),
    })),
  ];
  const problems: ConfigProblem[] = [];
  stores.forEach((store, index) => {
    for (const other of stores.slice(0, index)) {
      if (other.kind !== store.kind) continue;
      const fromOther = relative(other.root, store.root);
      const fromStore = relative(store.root, other.root);
      if (fromOther === '')
        problems.push(problemAt(store.path, `same folder as ${formatKeyPath(other.path)} (${store.root})`));
      else if (!fromOther.startsWith('..') && !isAbsolute(fromOther))
        problems.push(problemAt(store.path, `inside ${formatKeyPath(other.path)} (${other.root})`));
      else if (!fromStore.startsWith('..') && !isAbsolute(fromStore))
        problems.push(problemAt(store.path, `contains ${formatKeyPath(other.path)} (${other.root})`));
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Reads the secret side files in place; clientid checks wait until the credentials are known. */
function readSideFiles(config: Config): void {
  const auth = config.http.auth;
  const authPath: KeyPath = ['http', 'auth'];
  const problems: ConfigProblem[] = [];

  for (const [name, provider] of Object.entries(auth?.openid?.providers ?? {})) {
    const at: KeyPath = [...authPath, 'openid', 'providers', name];
    if (provider.credentialsFile !== undefined) {
      const credentials = readSecretFields(
        provider.credentialsFile,
        [...at, 'credentialsFile'],
        ['clientid', 'clientsecret'],
        ['clientid', 'clientsecret'],
      );
      provider.clientid = credentials.clientid ?? '';
      provider.clientsecret = credentials.clientsecret;
      if (provider.clientid === '') {
        problems.push(
          problemAt([...at, 'credentialsFile'], `${provider.credentialsFile}: "clientid" must not be empty`),
        );
      }
    } else if (provider.clientid === '') {
      problems.push(
        problemAt(
          at,
          'needs a client id: set credentialsFile (a JSON file with clientid and clientsecret) or clientid',
        ),
      );
    }
  }

  const ldap = auth?.ldap;
  if (ldap?.credentialsFile !== undefined) {
    const credentials = readSecretFields(
      ldap.credentialsFile,
      [...authPath, 'ldap', 'credentialsFile'],
      ['bindDN', 'bindPassword'],
      ['bindDN', 'bindPassword'],
    );
    ldap.bindDN = credentials.bindDN;
    ldap.bindPassword = credentials.bindPassword;
  }

  if (auth?.sessionKeysFile !== undefined) {
    const keys = readSecretFields(
      auth.sessionKeysFile,
      [...authPath, 'sessionKeysFile'],
      ['hashKey', 'encryptKey'],
      ['hashKey'],
    );
    auth.sessionKeys = {
      hashKey: keys.hashKey ?? '',
      ...(keys.encryptKey === undefined ? {} : { encryptKey: keys.encryptKey }),
    };
  }

  const sync = config.extensions?.sync;
  if (sync?.credentialsFile !== undefined) {
    sync.credentials = readRegistryCredentials(sync.credentialsFile, [
      'extensions',
      'sync',
      'credentialsFile',
    ]);
  }

  if (problems.length > 0) throw new ConfigError(problems);
}
