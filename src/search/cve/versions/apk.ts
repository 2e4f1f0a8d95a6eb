/**
 * Alpine package version order (apk-tools): `digits{.digits}[letter]{_suffix[digits]}[-rN]`.
 * The version is read as a sequence of typed tokens; two versions compare token by token while
 * the token types agree. Pre-release suffixes (`_alpha`, `_beta`, `_pre`, `_rc`) sort before the
 * bare version, post-release ones (`_cvs`, `_svn`, `_git`, `_hg`, `_p`) after it; a component
 * written with leading zeros (`1.02`) sorts by its zeros first, as apk reads it as a fraction.
 * Where the two stop agreeing, the version that ends sorts after one that goes on with a letter
 * or a digit, and before one that goes on with a post-release suffix or a revision.
 */

/** Token types in apk's order: a version continuing with a lower type sorts higher. */
const enum T {
  Invalid = -1,
  DigitOrZero = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNumber = 4,
  Revision = 5,
  End = 6,
}

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

interface Token {
  type: T;
  value: number;
}

/** Cuts a version into tokens; an unreadable tail becomes one Invalid token. */
function tokens(version: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const s = version;
  const digits = (): number => {
    let v = 0;
    while (i < s.length && s[i]! >= '0' && s[i]! <= '9') v = v * 10 + (s.charCodeAt(i++) - 48);
    return v;
  };
  const isDigitAt = (k: number): boolean => k < s.length && s[k]! >= '0' && s[k]! <= '9';
  if (!isDigitAt(0)) return [{ type: T.Invalid, value: 0 }];
  out.push({ type: T.Digit, value: digits() });
  let last: T = T.Digit;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '.' && (last === T.Digit || last === T.DigitOrZero) && isDigitAt(i + 1)) {
      i++;
      if (s[i] === '0') {
        // A leading-zero component: its zeros count against it, its other digits follow as usual.
        let zeros = 0;
        while (s[i] === '0') {
          zeros++;
          i++;
        }
        out.push({ type: T.DigitOrZero, value: -zeros });
        if (isDigitAt(i)) out.push({ type: T.Digit, value: digits() });
      } else {
        out.push({ type: T.DigitOrZero, value: digits() });
      }
      last = T.DigitOrZero;
    } else if (c >= 'a' && c <= 'z' && (last === T.Digit || last === T.DigitOrZero)) {
      out.push({ type: T.Letter, value: s.charCodeAt(i++) });
      last = T.Letter;
    } else if (c === '_' && last !== T.Revision) {
      const rest = s.slice(i + 1);
      const pre = PRE_SUFFIXES.findIndex((p) => rest.startsWith(p));
      const post = pre < 0 ? POST_SUFFIXES.findIndex((p) => rest.startsWith(p)) : -1;
      if (pre < 0 && post < 0) break;
      const name = pre >= 0 ? PRE_SUFFIXES[pre]! : POST_SUFFIXES[post]!;
      out.push({ type: T.Suffix, value: pre >= 0 ? pre - PRE_SUFFIXES.length : post });
      i += 1 + name.length;
      if (isDigitAt(i)) out.push({ type: T.SuffixNumber, value: digits() });
      last = T.Suffix;
    } else if (c === '~') {
      // A commit hash: not part of the order.
      i = s.indexOf('-r', i) >= 0 ? s.indexOf('-r', i) : s.length;
    } else if (c === '-' && s[i + 1] === 'r' && isDigitAt(i + 2) && last !== T.Revision) {
      i += 2;
      out.push({ type: T.Revision, value: digits() });
      last = T.Revision;
    } else {
      break;
    }
  }
  if (i < s.length) out.push({ type: T.Invalid, value: 0 });
  else out.push({ type: T.End, value: 0 });
  return out;
}

export function compareApk(a: string, b: string): number {
  const x = tokens(a.trim());
  const y = tokens(b.trim());
  const n = Math.min(x.length, y.length);
  let k = 0;
  for (; k < n; k++) {
    const p = x[k]!;
    const q = y[k]!;
    if (p.type !== q.type || p.type === T.End || p.type === T.Invalid) break;
    if (p.value !== q.value) return p.value < q.value ? -1 : 1;
  }
  const p = x[k];
  const q = y[k];
  if (!p || !q || p.type === q.type) {
    // Both unreadable past the same point: fall back to text order, as apk's own tests expect.
    if (p?.type === T.Invalid) return a < b ? -1 : a > b ? 1 : 0;
    return 0;
  }
  if (p.type === T.Suffix && p.value < 0) return -1;
  if (q.type === T.Suffix && q.value < 0) return 1;
  if (p.type === T.Invalid || q.type === T.Invalid) return a < b ? -1 : a > b ? 1 : 0;
  return p.type > q.type ? -1 : 1;
}
