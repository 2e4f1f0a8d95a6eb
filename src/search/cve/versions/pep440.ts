/**
 * Python version order (PEP 440, "Version specifiers"): `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`
 * after normalisation (case, `alpha`/`beta`/`c`/`pre`/`preview` spellings, `-`/`_`/`.`
 * separators, implicit numbers, `-N` as a post-release). Within one release: dev releases of it,
 * then its pre-releases (each preceded by its own dev releases), the final release, its local
 * variants, then its post-releases (again after their dev releases).
 */

interface Pep440 {
  epoch: number;
  release: number[];
  pre: [number, number] | null;
  post: number | null;
  dev: number | null;
  local: (string | number)[];
}

const PATTERN = new RegExp(
  '^v?(?:(\\d+)!)?(\\d+(?:\\.\\d+)*)' +
    '(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\\d+)?)?' +
    '(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d+)?)?' +
    '(?:[-_.]?(dev)[-_.]?(\\d+)?)?' +
    '(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$',
);

const PRE_RANK: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

export function parsePep440(version: string): Pep440 | undefined {
  const m = PATTERN.exec(version.trim().toLowerCase());
  if (!m) return undefined;
  const release = m[2]!.split('.').map(Number);
  while (release.length > 1 && release[release.length - 1] === 0) release.pop();
  return {
    epoch: m[1] === undefined ? 0 : Number(m[1]),
    release,
    pre: m[3] === undefined ? null : [PRE_RANK[m[3]]!, Number(m[4] ?? 0)],
    post: m[5] !== undefined ? Number(m[5]) : m[6] !== undefined ? Number(m[7] ?? 0) : null,
    dev: m[8] === undefined ? null : Number(m[9] ?? 0),
    local: m[10] === undefined ? [] : m[10].split(/[-_.]/).map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
  };
}

const cmp = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

function compareLocal(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return cmp(x, y);
    } else if (typeof x === 'number') {
      return 1;
    } else if (typeof y === 'number') {
      return -1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return cmp(a.length, b.length);
}

/** The sort key of the suffixes, as numbers where ±Infinity stands for "absent" in the right place. */
function suffixKey(v: Pep440): number[] {
  // A dev release with no pre- or post-release sorts before every pre-release of its release.
  const pre = v.pre ?? (v.post === null && v.dev !== null ? [-Infinity, 0] : [Infinity, 0]);
  return [pre[0], pre[1], v.post ?? -Infinity, v.dev ?? Infinity];
}

export function comparePep440(a: string, b: string): number {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.epoch !== y.epoch) return cmp(x.epoch, y.epoch);
  for (let i = 0; i < Math.max(x.release.length, y.release.length); i++) {
    const d = cmp(x.release[i] ?? 0, y.release[i] ?? 0);
    if (d !== 0) return d;
  }
  const kx = suffixKey(x);
  const ky = suffixKey(y);
  for (let i = 0; i < kx.length; i++) {
    const d = cmp(kx[i]!, ky[i]!);
    if (d !== 0) return d;
  }
  return compareLocal(x.local, y.local);
}
