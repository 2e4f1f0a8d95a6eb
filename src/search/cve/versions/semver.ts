/**
 * Semantic Versioning 2.0.0 precedence (semver.org §11), as npm and Go modules use it: numeric
 * major.minor.patch, then a version with a pre-release sorts before the same version without;
 * pre-release identifiers compare numerically when both are numbers, numbers before text, and a
 * shorter list first when one is a prefix of the other. Build metadata (`+...`) is ignored. Go
 * writes a `v` prefix; npm tolerates `v` and `=` too.
 */

interface SemVer {
  core: [bigint, bigint, bigint];
  pre: string[];
}

const PATTERN = /^[v=]?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseSemver(version: string): SemVer | undefined {
  const m = PATTERN.exec(version.trim());
  if (!m) return undefined;
  return {
    core: [BigInt(m[1]!), BigInt(m[2] ?? 0), BigInt(m[3] ?? 0)],
    pre: m[4] === undefined ? [] : m[4].split('.'),
  };
}

const isNumeric = (id: string): boolean => /^\d+$/.test(id);

function compareIdentifiers(a: string, b: string): number {
  const an = isNumeric(a);
  const bn = isNumeric(b);
  if (an && bn) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const cmpBool = (a: boolean, b: boolean): number => Number(a) - Number(b);

export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) {
    if (x.core[i]! !== y.core[i]!) return x.core[i]! < y.core[i]! ? -1 : 1;
  }
  // A pre-release sorts before its release.
  if (x.pre.length === 0 || y.pre.length === 0) return cmpBool(x.pre.length === 0, y.pre.length === 0);
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const d = compareIdentifiers(x.pre[i]!, y.pre[i]!);
    if (d !== 0) return d;
  }
  return x.pre.length - y.pre.length;
}
