/**
 * Which accepted keys Berth acts on today. A key outside this list is still accepted (zot configs
 * must load unchanged) but produces a warning, so nobody believes a setting works when it is
 * ignored. Update {@link IMPLEMENTED_KEYS} as features land.
 */
import type { z } from 'zod';

import { problemAt, type KeyPath } from './errors.js';
import { containerOf } from './keys.js';

/**
 * Key paths Berth implements. Each entry covers its whole subtree. Map keys (repository patterns,
 * provider names, subpath routes) are written `*`; array indices are left out.
 */
export const IMPLEMENTED_KEYS: readonly string[] = [
  'distSpecVersion',
  'storage.rootDirectory',
  'storage.dedupe',
  'storage.commit',
  'storage.gc',
  'storage.gcDelay',
  'storage.gcInterval',
  'storage.retention',
  // name "s3" (gcs and azure are refused at start: app.ts configRefusals).
  'storage.storageDriver',
  'storage.redirectBlobURL',
  // Only with a `postgres` cacheDriver; other drivers are warned about in warnings.ts.
  'storage.remoteCache',
  'storage.cacheDriver',
  'http.address',
  'http.port',
  'http.externalUrl',
  'http.realm',
  'http.compat',
  'http.ratelimit',
  'http.tls',
  'http.auth.mtls',
  'http.trustedProxies',
  'http.auth.htpasswd',
  'http.auth.apikey',
  'http.auth.openid',
  'http.auth.failDelay',
  'http.accessControl',
  'log.level',
  'log.output',
  'log.audit',
  'extensions.metrics',
  'extensions.sync',
  'extensions.ui',
  'extensions.search.enable',
  'extensions.search.cve',
  'extensions.scrub',
];

/**
 * Keys inside an implemented subtree that Berth does not act on yet, each with what happens instead.
 */
export const NOT_IMPLEMENTED_WITHIN: Readonly<Record<string, string>> = {
  'http.accessControl.repositories.*.policies.conditions':
    'CEL conditions are not evaluated yet; a policy entry with conditions grants nothing',
  'http.accessControl.adminPolicy.conditions':
    'CEL conditions are not evaluated yet; an admin policy with conditions grants nothing',
  'extensions.search.cve.trivy':
    'Berth scans against OSV data (extensions.search.cve.osvUrl); Trivy settings are unused',
};

const covers = (entry: string, pattern: string) => pattern === entry || pattern.startsWith(`${entry}.`);
const below = (entry: string, pattern: string) => entry.startsWith(`${pattern}.`);

/**
 * One warning per outermost key present in `value` that Berth does not implement, e.g.
 * `extensions.search: accepted but not implemented yet; ignored`. `value` is the canonicalised input.
 */
export function unimplementedKeyWarnings(value: unknown, schema: z.ZodType): string[] {
  const warnings: string[] = [];
  visit(value, schema, [], '', warnings);
  return warnings;
}

function visit(value: unknown, schema: z.ZodType, path: KeyPath, pattern: string, warnings: string[]): void {
  const container = containerOf(schema);
  if (container === undefined) return;
  if (container.kind === 'array') {
    if (Array.isArray(value))
      value.forEach((item, index) => visit(item, container.element, [...path, index], pattern, warnings));
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;

  for (const [key, item] of Object.entries(value)) {
    const childPattern =
      pattern === ''
        ? container.kind === 'record'
          ? '*'
          : key
        : `${pattern}.${container.kind === 'record' ? '*' : key}`;
    const childPath = [...path, key];
    const childSchema = container.kind === 'record' ? container.value : container.shape[key];
    if (childSchema === undefined) continue;
    const exception = Object.entries(NOT_IMPLEMENTED_WITHIN).find(([entry]) => covers(entry, childPattern));
    const excluded = exception !== undefined;
    const implemented = !excluded && IMPLEMENTED_KEYS.some((entry) => covers(entry, childPattern));
    const mixedBelow = [...IMPLEMENTED_KEYS, ...Object.keys(NOT_IMPLEMENTED_WITHIN)].some((entry) =>
      below(entry, childPattern),
    );
    if (mixedBelow && !excluded) visit(item, childSchema, childPath, childPattern, warnings);
    // An empty list changes nothing, so saying it is ignored would only be noise.
    else if (!implemented && !(Array.isArray(item) && item.length === 0)) {
      warnings.push(
        problemAt(childPath, exception?.[1] ?? 'accepted but not implemented yet; ignored').message,
      );
    }
  }
}
