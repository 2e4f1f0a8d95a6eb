/**
 * Secret side files: JSON files a config points to so secrets stay out of the config itself. Read
 * with zot's exactness: the file must exist and parse, keys are case-insensitive, unknown keys are
 * refused, and required keys must be present. Errors name the config key that points to the file.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

import { ConfigError, type KeyPath } from './errors.js';

/** Reads a JSON object from a side file, or throws a {@link ConfigError} at `keyPath`. */
export function readJsonSideFile(file: string, keyPath: KeyPath): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw ConfigError.at(keyPath, `cannot read ${file}: ${why}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const hint = ['.json', ''].includes(extname(file).toLowerCase())
      ? ''
      : ' (Berth reads JSON side files only)';
    throw ConfigError.at(keyPath, `${file} is not valid JSON${hint}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw ConfigError.at(keyPath, `${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Reads a side file holding exactly the string fields in `fields` (spelling as given, matched
 * case-insensitively). Fields listed in `required` must be present.
 */
export function readSecretFields<F extends string>(
  file: string,
  keyPath: KeyPath,
  fields: readonly F[],
  required: readonly F[],
): Partial<Record<F, string>> {
  const content = readJsonSideFile(file, keyPath);
  const byLowerCase = new Map(fields.map((field) => [field.toLowerCase(), field] as const));
  const out: Partial<Record<F, string>> = {};
  for (const [key, value] of Object.entries(content)) {
    const field = byLowerCase.get(key.toLowerCase());
    if (field === undefined) {
      throw ConfigError.at(
        keyPath,
        `${file} has an unknown key ${JSON.stringify(key)} (expected ${fields.join(', ')})`,
      );
    }
    if (typeof value !== 'string')
      throw ConfigError.at(keyPath, `${file}: ${JSON.stringify(key)} must be a string`);
    out[field] = value;
  }
  const missing = required.filter((field) => out[field] === undefined);
  if (missing.length > 0) {
    throw ConfigError.at(
      keyPath,
      `${file} is missing ${missing.map((field) => JSON.stringify(field)).join(' and ')}`,
    );
  }
  return out;
}

/** Upstream registry credentials keyed by `host[:port]`, as in `extensions.sync.credentialsFile`. */
export type RegistryCredentials = Record<string, { username: string; password: string }>;

/** Reads a sync credentials file: `{"host[:port]": {"username": "...", "password": "..."}}`. */
export function readRegistryCredentials(file: string, keyPath: KeyPath): RegistryCredentials {
  const content = readJsonSideFile(file, keyPath);
  const out: RegistryCredentials = {};
  for (const [host, entry] of Object.entries(content)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw ConfigError.at(
        keyPath,
        `${file}: ${JSON.stringify(host)} must be an object with username and password`,
      );
    }
    // zot decodes this file with Go's encoding/json: field names case-insensitive, extras ignored.
    const fields = new Map(
      Object.entries(entry as Record<string, unknown>).map(
        ([key, value]) => [key.toLowerCase(), value] as const,
      ),
    );
    const username = fields.get('username') ?? '';
    const password = fields.get('password') ?? '';
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw ConfigError.at(
        keyPath,
        `${file}: username and password of ${JSON.stringify(host)} must be strings`,
      );
    }
    out[host] = { username, password };
  }
  return out;
}
