/**
 * Parses `/v2/...` paths. Repository names contain slashes, so each resource is recognised by its
 * suffix (`/manifests/<ref>`, `/blobs/uploads/<id>`...) and the name is everything before it.
 */
import { RegistryError } from '../../oci/errors.js';
import { assertRepositoryName } from '../../oci/names.js';

export type V2Path =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'referrers'; name: string; digest: string };

const ROUTES: [RegExp, (m: RegExpExecArray) => V2Path][] = [
  [/^(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, reference: m[2]! })],
  [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, id: m[2]! })],
  [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in path');
  }
}

/** Returns the parsed route, or undefined for a path under /v2/ that names no resource. */
export function parseV2Path(pathname: string): V2Path | undefined {
  if (pathname === '/v2' || pathname === '/v2/') return { kind: 'base' };
  if (!pathname.startsWith('/v2/')) return undefined;
  const rest = pathname.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [pattern, build] of ROUTES) {
    const m = pattern.exec(rest);
    if (!m) continue;
    const route = build(m);
    if ('name' in route) {
      route.name = decode(route.name);
      assertRepositoryName(route.name);
    }
    if ('reference' in route) route.reference = decode(route.reference);
    if ('digest' in route) route.digest = decode(route.digest);
    if ('id' in route) route.id = decode(route.id);
    return route;
  }
  return undefined;
}
