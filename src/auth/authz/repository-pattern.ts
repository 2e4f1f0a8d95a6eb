/**
 * Repository glob patterns as zot matches them (bmatcuk/doublestar `Match` on the whole repository
 * name), implemented with picomatch plus the few adjustments that make picomatch agree with
 * doublestar on names a registry can hold:
 *
 * - `*` and `?` never cross `/`; `**` as a whole segment crosses any number of segments;
 *   `{a,b}` alternatives and `[...]` classes work; `\` escapes.
 * - A trailing `/**` also matches zero segments, wherever it follows: `a/**` matches `a`, and
 *   `x/*` followed by `/**` matches `x/a` (picomatch alone only handles the first case).
 * - `[!...]` negates a class like `[^...]` (picomatch would read `!` as a literal).
 * - `!` at the start is a literal, not picomatch's negation; extglobs (`@(a|b)`) are literals.
 * - A pattern starting with `/`, or containing a `.` or `..` segment, never matches (zot users
 *   sometimes write `/team/**`; it never matched there either).
 *
 * Known, harmless divergence: picomatch expands numeric ranges such as `{1..3}`; doublestar treats
 * them as a literal alternative, which can never match a valid repository name.
 */
import picomatch from 'picomatch';

const PICOMATCH_OPTIONS: picomatch.PicomatchOptions = Object.freeze({
  dot: true,
  nonegate: true,
  noextglob: true,
  windows: false,
});

/**
 * Why a pattern is not a valid doublestar pattern, or undefined when it is valid: a trailing `\`, a
 * `[` class that is empty or never closed, unbalanced `{`/`}`, or (never seen in practice) a pattern
 * picomatch cannot compile. zot refuses such configs at load. This is the one glob grammar: `berth
 * verify` and the config loader check every glob with it, and `compileRepositoryPattern` compiles
 * exactly the patterns it accepts, so a config that loads never fails when serve compiles it.
 */
export function repositoryPatternProblem(pattern: string): string | undefined {
  const problem = structuralProblem(pattern);
  if (problem !== undefined) return problem;
  try {
    picomatch.makeRe(negatedClassesAsCaret(pattern), PICOMATCH_OPTIONS);
  } catch (error) {
    return `does not compile: ${(error as Error).message}`;
  }
  return undefined;
}

/** doublestar's `ValidatePattern`, which Berth follows byte for byte. */
function structuralProblem(pattern: string): string | undefined {
  let braceDepth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (i + 1 >= pattern.length) return 'ends with an unfinished escape "\\"';
      i++;
    } else if (c === '[') {
      i++;
      if (pattern[i] === '!' || pattern[i] === '^') i++;
      if (i >= pattern.length) return 'has a "[" without a matching "]"';
      if (pattern[i] === ']') return 'has an empty character class "[]"';
      let closed = false;
      for (; i < pattern.length; i++) {
        if (pattern[i] === '\\') i++;
        else if (pattern[i] === ']') {
          closed = true;
          break;
        }
      }
      if (!closed) return 'has a "[" without a matching "]"';
    } else if (c === '{') {
      braceDepth++;
    } else if (c === '}') {
      if (braceDepth === 0) return 'has a "}" without a matching "{"';
      braceDepth--;
    }
  }
  return braceDepth === 0 ? undefined : 'has a "{" without a matching "}"';
}

/** Rewrites `[!` class openings to `[^`, leaving escaped brackets and class contents alone. */
function negatedClassesAsCaret(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      out += c + (pattern[i + 1] ?? '');
      i++;
    } else if (c === '[') {
      out += c;
      if (pattern[i + 1] === '!') {
        out += '^';
        i++;
      }
      // Copy the class body verbatim, so a `[` inside it is not taken for another opening.
      for (i++; i < pattern.length; i++) {
        const d = pattern[i] as string;
        out += d;
        if (d === '\\') {
          out += pattern[i + 1] ?? '';
          i++;
        } else if (d === ']') break;
      }
    } else {
      out += c;
    }
  }
  return out;
}

const NEVER = (): boolean => false;

/**
 * A literal string as a pattern that matches exactly it: every character the grammar gives a
 * meaning to is escaped. For names that are paths, not globs, composed into a pattern (a sync
 * `destination`), so that a `[` in them cannot make the composed pattern invalid.
 */
export function escapeGlob(literal: string): string {
  return literal.replace(/[\\*?[\]{},!]/g, (c) => `\\${c}`);
}

/**
 * Compiles a pattern (already lower-cased by the caller if it wants zot's case folding) into a
 * predicate over repository names. Throws `TypeError` for patterns `repositoryPatternProblem` rejects.
 */
export function compileRepositoryPattern(pattern: string): (repository: string) => boolean {
  const problem = repositoryPatternProblem(pattern);
  if (problem !== undefined) throw new TypeError(`repository pattern ${JSON.stringify(pattern)} ${problem}`);
  if (pattern.startsWith('/') || pattern.split('/').some((segment) => segment === '.' || segment === '..')) {
    return NEVER;
  }
  const glob = negatedClassesAsCaret(pattern);
  const whole = picomatch(glob, PICOMATCH_OPTIONS);
  const trailingGlobstar = glob.endsWith('/**') && !glob.endsWith('\\/**') && glob.length > 3;
  if (!trailingGlobstar) return (repository) => whole(repository);
  const parent = picomatch(glob.slice(0, -3), PICOMATCH_OPTIONS);
  return (repository) => whole(repository) || parent(repository);
}
