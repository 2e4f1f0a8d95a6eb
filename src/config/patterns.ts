/**
 * The two pattern languages zot configs contain, checked the way zot checks them at load time:
 * doublestar globs (repository patterns in `accessControl`, retention and sync `content.prefix`) and
 * Go RE2 regular expressions (sync tag filters, retention `keepTags.patterns`).
 */
import { repositoryPatternProblem } from '../auth/authz/repository-pattern.js';

/**
 * Returns why a glob is invalid, or `undefined` when it is fine: doublestar's `ValidatePattern`
 * (balanced `[...]` and `{...}`, no empty class, no dangling `\`). The grammar itself lives beside the
 * matcher (`auth/authz/repository-pattern.ts`) so that what `berth verify` accepts is exactly what
 * `berth serve` compiles.
 */
export function globProblem(pattern: string): string | undefined {
  return repositoryPatternProblem(pattern);
}

const INLINE_FLAGS = /^\(\?([a-zA-Z]+)\)/;

const GO_ONLY_SYNTAX: Readonly<Record<string, string>> = {
  '\\A': '(?<![\\s\\S])',
  '\\z': '(?![\\s\\S])',
  '(?P<': '(?<',
};

/**
 * Compiles a Go (RE2) regular expression as a JavaScript `RegExp`, translating the Go-only syntax
 * configs actually use: leading inline flags (`(?i)`, `(?s)`, `(?m)`), named groups `(?P<name>…)`,
 * and the `\A` / `\z` anchors. Matching stays unanchored, as in zot (`regexp.MatchString`).
 *
 * @throws Error when the expression does not compile.
 */
export function compileGoRegExp(source: string): RegExp {
  let body = source;
  let flags = '';
  const inline = INLINE_FLAGS.exec(body);
  if (inline) {
    for (const flag of inline[1] ?? '') {
      if (flag === 'i' || flag === 's' || flag === 'm') {
        if (!flags.includes(flag)) flags += flag;
      } else {
        throw new Error(`unsupported inline flag "${flag}" in ${JSON.stringify(source)}`);
      }
    }
    body = body.slice(inline[0].length);
  }
  // An escaped backslash is skipped as a unit so that `\\A` stays a backslash followed by "A".
  body = body.replace(/\\\\|\\A|\\z|\(\?P</g, (token) => GO_ONLY_SYNTAX[token] ?? token);
  return new RegExp(body, flags);
}

/** Returns why a Go regular expression is invalid, or `undefined` when it compiles. */
export function regexpProblem(source: string): string | undefined {
  try {
    compileGoRegExp(source);
    return undefined;
  } catch (error) {
    return `does not compile as a regular expression: ${(error as Error).message}`;
  }
}
