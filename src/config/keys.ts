/**
 * Key canonicalisation. zot reads its config through viper, which lower-cases every key, so
 * `rootdirectory`, `RootDirectory` and `rootDirectory` all mean the same thing, and map keys
 * (repository patterns, group and provider names) end up lower-cased. This module walks the raw
 * JSON alongside the zod schema and rewrites each object key to the schema's spelling, lower-cases
 * map keys, and reports keys the schema does not know (with a suggestion when one is close).
 */
import type { z } from 'zod';

import { problemAt, type ConfigProblem, type KeyPath } from './errors.js';

/** The shape of the value a schema parses, as far as key handling is concerned. */
export type Container =
  | { kind: 'object'; shape: Readonly<Record<string, z.ZodType>> }
  | { kind: 'record'; value: z.ZodType }
  | { kind: 'array'; element: z.ZodType };

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** Finds the object, record or array a (possibly wrapped) schema parses, if any. */
export function containerOf(schema: z.ZodType): Container | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return { kind: 'object', shape: def.shape ?? {} };
    case 'record':
      return def.valueType ? { kind: 'record', value: def.valueType } : undefined;
    case 'array':
      return def.element ? { kind: 'array', element: def.element } : undefined;
    case 'pipe': {
      // `.transform()` puts the real schema first; `z.preprocess()` puts it second.
      const first = def.in ? containerOf(def.in) : undefined;
      return first ?? (def.out ? containerOf(def.out) : undefined);
    }
    case 'union':
      for (const option of def.options ?? []) {
        const found = containerOf(option);
        if (found) return found;
      }
      return undefined;
    default:
      return def.innerType ? containerOf(def.innerType) : undefined;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Result of {@link canonicaliseKeys}. */
export interface CanonicalKeys {
  /** A copy of the input with keys spelled as the schema spells them. */
  value: unknown;
  /** Unknown and duplicate keys, in input order. */
  problems: ConfigProblem[];
}

/**
 * Rewrites the keys of `raw` to the spelling `schema` uses. Values are copied, never changed; a
 * value whose type does not fit the schema is left for the schema to report.
 */
export function canonicaliseKeys(raw: unknown, schema: z.ZodType): CanonicalKeys {
  const problems: ConfigProblem[] = [];
  const value = walk(raw, schema, [], problems);
  return { value, problems };
}

function walk(raw: unknown, schema: z.ZodType, path: KeyPath, problems: ConfigProblem[]): unknown {
  const container = containerOf(schema);
  if (container === undefined) return raw;
  if (container.kind === 'array') {
    return Array.isArray(raw)
      ? raw.map((item, index) => walk(item, container.element, [...path, index], problems))
      : raw;
  }
  if (!isPlainObject(raw)) return raw;

  const out: Record<string, unknown> = {};
  const seenAs = new Map<string, string>();
  const byLowerCase = new Map<string, string>();
  if (container.kind === 'object')
    for (const key of Object.keys(container.shape)) byLowerCase.set(key.toLowerCase(), key);

  for (const [key, item] of Object.entries(raw)) {
    let canonical: string;
    let itemSchema: z.ZodType | undefined;
    if (container.kind === 'record') {
      canonical = key.toLowerCase();
      itemSchema = container.value;
    } else {
      const known = byLowerCase.get(key.toLowerCase());
      if (known === undefined) {
        problems.push(problemAt([...path, key], `unknown key${suggestion(key, [...byLowerCase.values()])}`));
        continue;
      }
      canonical = known;
      itemSchema = container.shape[known];
    }
    const earlier = seenAs.get(canonical);
    if (earlier !== undefined) {
      problems.push(
        problemAt([...path, key], `duplicate of ${JSON.stringify(earlier)} (keys are case-insensitive)`),
      );
      continue;
    }
    seenAs.set(canonical, key);
    out[canonical] = itemSchema ? walk(item, itemSchema, [...path, canonical], problems) : item;
  }
  return out;
}

/** `; did you mean "x"?` when a known key is within a couple of edits of `key`. */
function suggestion(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(lower.length / 4)) + 1;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : `; did you mean ${JSON.stringify(best)}?`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
