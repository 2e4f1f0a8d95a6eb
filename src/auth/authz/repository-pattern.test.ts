import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRepositoryPattern, escapeGlob, repositoryPatternProblem } from './repository-pattern.js';

function matches(pattern: string, repository: string): boolean {
  return compileRepositoryPattern(pattern)(repository);
}

describe('repository patterns (doublestar semantics on picomatch)', () => {
  const cases: [pattern: string, repository: string, expected: boolean][] = [
    // The cases zot-behavior.md §3.1 asks for.
    ['**', 'a/b/c', true],
    ['**', 'a', true],
    ['a/*', 'a/b', true],
    ['a/*', 'a/b/c', false],
    ['a/**', 'a/b/c', true],
    ['a/**', 'a', true],
    ['a/**', 'ab', false],
    ['a/**', 'b/a', false],
    ['/a/**', 'a/b', false],
    ['/a/**', 'a', false],
    ['{x,y}/**', 'x/q', true],
    ['{x,y}/**', 'y/q/r', true],
    ['{x,y}/**', 'y', true],
    ['{x,y}/**', 'z/q', false],
    // A trailing /** matches zero segments after any prefix, not only a literal one.
    ['x/*/**', 'x/a', true],
    ['x/*/**', 'x/a/b/c', true],
    ['x/*/**', 'x', false],
    ['**/c/**', 'c', true],
    ['**/c/**', 'a/b/c/d', true],
    // Middle and leading globstars match zero segments too.
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['**/x', 'x', true],
    ['**/x', 'a/b/x', true],
    // Exact names and single-segment wildcards.
    ['exact/name', 'exact/name', true],
    ['exact/name', 'exact/name/sub', false],
    ['exact/name', 'exact', false],
    ['*', 'alpine', true],
    ['*', 'library/alpine', false],
    ['a?b', 'axb', true],
    ['a?b', 'a/b', false],
    // `**` inside a segment acts like `*`.
    ['a**', 'abc', true],
    ['a**', 'a/b', false],
    // Classes, including doublestar's `[!...]` negation.
    ['[a-c]/x', 'b/x', true],
    ['[a-c]/x', 'd/x', false],
    ['[!a]/x', 'b/x', true],
    ['[!a]/x', 'a/x', false],
    ['[^a]/x', 'b/x', true],
    ['[^a]/x', 'a/x', false],
    // No negation or extglob: these characters are literals, as in doublestar.
    ['!a', 'b', false],
    ['!a', 'a', false],
    ['@(a|b)', 'a', false],
    // Dot segments never match (picomatch would strip a leading ./).
    ['./a', 'a', false],
    ['a/./b', 'a/b', false],
    ['a/../b', 'b', false],
    // Names with the separators OCI allows.
    ['team/**', 'team/my-app.v2/sub_dir', true],
    ['*.io/**', 'docker.io/library/nginx', true],
  ];
  for (const [pattern, repository, expected] of cases) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(repository)}`, () => {
      assert.equal(matches(pattern, repository), expected);
    });
  }

  it('honours backslash escapes', () => {
    assert.equal(matches('a\\*', 'a*'), true);
    assert.equal(matches('a\\*', 'ab'), false);
  });

  it('is case-sensitive (the policy lower-cases patterns, repository names are lower-case)', () => {
    assert.equal(matches('Team/**', 'team/x'), false);
  });
});

describe('repositoryPatternProblem', () => {
  for (const valid of ['**', 'a/**', '{x,y}/**', '[abc]', '[!a]x', 'a\\{', '{a,{b,c}}', ']x']) {
    it(`accepts ${JSON.stringify(valid)}`, () => assert.equal(repositoryPatternProblem(valid), undefined));
  }
  const invalid: [string, RegExp][] = [
    ['a\\', /unfinished escape/],
    ['[abc', /"\[" without a matching "\]"/],
    ['a/[', /"\[" without a matching "\]"/],
    ['[]', /empty/],
    ['[!]', /empty/],
    // Found by a user: `verify` once accepted it and `serve` then died compiling it.
    ['a[]]', /empty/],
    ['[]a]/x', /empty/],
    ['{a,b', /"\{" without a matching "\}"/],
    ['a}', /"\}" without a matching "\{"/],
  ];
  for (const [pattern, problem] of invalid) {
    it(`rejects ${JSON.stringify(pattern)}`, () => {
      assert.match(repositoryPatternProblem(pattern) ?? '', problem);
      assert.throws(() => compileRepositoryPattern(pattern), TypeError);
    });
  }
});

describe('escapeGlob', () => {
  it('makes a literal that matches exactly itself, whatever characters it holds', () => {
    for (const literal of ['mirror[x', 'a[b]{c,d}*?', 'x\\', '!neg', 'plain/path']) {
      assert.equal(repositoryPatternProblem(escapeGlob(literal)), undefined, literal);
      const matches = compileRepositoryPattern(escapeGlob(literal));
      assert.equal(matches(literal), true, literal);
    }
    assert.equal(compileRepositoryPattern(escapeGlob('a*'))('ab'), false);
    assert.equal(compileRepositoryPattern(`${escapeGlob('mirror[x')}/**`)('mirror[x/app'), true);
  });
});
