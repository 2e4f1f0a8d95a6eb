/**
 * Zod schemas for the scalar values of a zot config, with zot's (viper/mapstructure "weakly typed")
 * leniency where real configs rely on it: numbers written as strings (`"port": "5050"`), booleans
 * written as strings, a single string where a list is expected. Durations are Go syntax in the file
 * and milliseconds after parsing.
 */
import { z } from 'zod';

import { parseDuration } from '../duration.js';
import { describeValue } from '../errors.js';
import { globProblem, regexpProblem } from '../patterns.js';

type Conversion<T> = { ok: true; value: T } | { ok: false; why: string };

const ok = <T>(value: T): Conversion<T> => ({ ok: true, value });
const bad = (why: string): Conversion<never> => ({ ok: false, why });

/** A schema that converts an input with `convert`, reporting its failure text as the issue. */
function scalar<T>(convert: (value: unknown) => Conversion<T>) {
  return z.unknown().transform((value, ctx): T => {
    const result = value === undefined ? bad('required') : convert(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.why });
    return z.NEVER;
  });
}

/** Go's `strconv.ParseBool` spellings, which mapstructure accepts for booleans written as strings. */
const BOOL_WORDS: Readonly<Record<string, boolean>> = {
  '1': true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

/** A boolean; also `"true"`/`"false"` (and Go's other spellings) as strings. */
export const bool = () =>
  scalar<boolean>((value) => {
    if (typeof value === 'boolean') return ok(value);
    if (typeof value === 'string' && value in BOOL_WORDS) return ok(BOOL_WORDS[value] ?? false);
    if (typeof value === 'number') return ok(value !== 0);
    return bad(`expected true or false, got ${describeValue(value)}`);
  });

/** An integer within [min, max]; also written as a decimal string. */
export const int = (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
  scalar<number>((value) => {
    let n: number | undefined;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) n = Number(value.trim());
    if (n === undefined || !Number.isInteger(n))
      return bad(`expected a whole number, got ${describeValue(value)}`);
    if (n < min || n > max) {
      return bad(
        max === Number.MAX_SAFE_INTEGER
          ? `must be at least ${min}, got ${n}`
          : `must be from ${min} to ${max}, got ${n}`,
      );
    }
    return ok(n);
  });

/** A finite number; also written as a decimal string. */
export const float = () =>
  scalar<number>((value) => {
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : NaN;
    return Number.isFinite(n) ? ok(n) : bad(`expected a number, got ${describeValue(value)}`);
  });

/** A string. */
export const str = () =>
  scalar<string>((value) =>
    typeof value === 'string' ? ok(value) : bad(`expected a string, got ${describeValue(value)}`),
  );

/** A string that may be empty in the file but means "not set" when it is: becomes `undefined`. */
export const optionalText = () =>
  scalar<string | undefined>((value) =>
    typeof value === 'string'
      ? ok(value === '' ? undefined : value)
      : bad(`expected a string, got ${describeValue(value)}`),
  ).optional();

/** A list of strings; a single string counts as a list of one (mapstructure's weak decoding). */
export const strList = () =>
  scalar<string[]>((value) => {
    if (typeof value === 'string') return ok([value]);
    if (!Array.isArray(value)) return bad(`expected a list of strings, got ${describeValue(value)}`);
    const index = value.findIndex((item) => typeof item !== 'string');
    if (index >= 0) return bad(`item ${index} must be a string, got ${describeValue(value[index])}`);
    // A copy, so the loaded config never shares a list with the caller's raw document.
    return ok([...(value as string[])]);
  });

/** A list of strings that defaults to `[]`. */
export const strListOrEmpty = () =>
  strList()
    .optional()
    .transform((list) => list ?? []);

/**
 * A Go duration string, converted to milliseconds; never negative. A bare `0` is accepted; any other
 * number is refused because zot would read it as nanoseconds, which is never what was meant.
 */
export const duration = () =>
  scalar<number>((value) => {
    if (value === 0) return ok(0);
    if (typeof value === 'number') {
      return bad(
        `write durations as strings such as "1h" or "300s", got the number ${value} (zot would read it as nanoseconds)`,
      );
    }
    if (typeof value !== 'string')
      return bad(`expected a duration such as "1h" or "300s", got ${describeValue(value)}`);
    let ms: number;
    try {
      ms = parseDuration(value.trim());
    } catch (error) {
      return bad((error as Error).message);
    }
    return ms < 0 ? bad(`must not be negative, got ${JSON.stringify(value)}`) : ok(ms);
  });

/**
 * A TCP port: zot's config holds it as a string (`"5050"`); a number is accepted too. `0` asks the
 * system for a free port.
 */
export const port = () =>
  scalar<number>((value) => {
    const text =
      typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
    if (text === undefined || !/^\d+$/.test(text))
      return bad(`expected a port number from 0 to 65535, got ${describeValue(value)}`);
    const n = Number(text);
    return n <= 65535 ? ok(n) : bad(`must be from 0 to 65535, got ${n}`);
  });

/** A doublestar glob, checked like zot checks it when loading. */
export const glob = () =>
  str().superRefine((pattern, ctx) => {
    const why = globProblem(pattern);
    if (why !== undefined)
      ctx.addIssue({ code: 'custom', message: `invalid glob ${JSON.stringify(pattern)}: ${why}` });
  });

/** A list of doublestar globs (a single string counts as a list of one). */
export const globList = () =>
  strList().superRefine((patterns, ctx) => {
    patterns.forEach((pattern, index) => {
      const why = globProblem(pattern);
      if (why !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `invalid glob ${JSON.stringify(pattern)}: ${why}`,
        });
      }
    });
  });

/** A list of Go regular expressions (a single string counts as a list of one). */
export const regexpList = () =>
  strList().superRefine((sources, ctx) => {
    sources.forEach((source, index) => {
      const why = regexpProblem(source);
      if (why !== undefined)
        ctx.addIssue({ code: 'custom', path: [index], message: `${JSON.stringify(source)} ${why}` });
    });
  });

/** A Go regular expression that must compile. */
export const regexp = () =>
  str().superRefine((source, ctx) => {
    const why = regexpProblem(source);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(source)} ${why}` });
  });

/**
 * A map whose keys are data (repository globs, group and provider names, driver parameters). zot's
 * loader lower-cases such keys; the key canonicaliser does the same before this schema runs.
 */
export const map = <T extends z.ZodType>(value: T) => z.record(z.string(), value);

/** A free-form map handed to a driver (storage, cache, session): keys lower-cased, values kept. */
export const driverParams = () => map(z.unknown());
