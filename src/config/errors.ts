/**
 * Errors raised while loading a configuration. Every problem names the key it is about, spelled the
 * way the schema spells it (`http.auth.openid.providers.oidc.clientsecret`), so `berth verify` can
 * print one line per problem that a user can act on without reading Berth's source.
 */

/** A key path as a list of object keys and array indices, outermost first. */
export type KeyPath = readonly (string | number)[];

/** One thing wrong with a configuration. */
export interface ConfigProblem {
  /** Dotted key path (`storage.gcDelay`, `extensions.sync.registries[0].urls`); `''` for the whole file. */
  readonly keyPath: string;
  /** Full sentence, starting with the key path. */
  readonly message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Formats a key path for messages: identifiers joined by dots, indices in brackets, and map keys
 * that are not identifiers (repository globs such as `**`) quoted in brackets.
 */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (IDENTIFIER.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** Describes a value for a message: `string "abc"`, `number 3`, `a list`, `an object`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Builds a problem whose message starts with the formatted key path (or `config` for the root). */
export function problemAt(path: KeyPath, text: string): ConfigProblem {
  const keyPath = formatKeyPath(path);
  return { keyPath, message: `${keyPath === '' ? 'config' : keyPath}: ${text}` };
}

/**
 * A configuration that cannot be used. `message` lists every problem found, one per line, the
 * first line starting with {@link ConfigError.keyPath}.
 */
export class ConfigError extends Error {
  /** Key path of the first problem (`''` when the file as a whole is at fault). */
  readonly keyPath: string;
  /** Every problem found, in the order they were found. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    const first = problems[0] ?? { keyPath: '', message: 'config: invalid configuration' };
    super(problems.length > 0 ? problems.map((p) => p.message).join('\n') : first.message, options);
    this.name = 'ConfigError';
    this.keyPath = first.keyPath;
    this.problems = problems.length > 0 ? problems : [first];
  }

  /** Shorthand for an error with a single problem. */
  static at(path: KeyPath, text: string, options?: { cause?: unknown }): ConfigError {
    return new ConfigError([problemAt(path, text)], options);
  }
}
