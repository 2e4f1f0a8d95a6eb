import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileGoRegExp, globProblem, regexpProblem } from './patterns.js';

describe('globProblem', () => {
  it('accepts the globs zot configs use', () => {
    for (const pattern of ['**', 'a/*', 'a/**', '{x,y}/**', 'team-[abc]/*', '[!a]/*', 'a\\*b', '/a/**']) {
      assert.equal(globProblem(pattern), undefined, pattern);
    }
  });

  it('refuses what doublestar refuses', () => {
    assert.match(globProblem('team-[abc/*') ?? '', /"\[" without a matching "\]"/);
    // doublestar reads `[]` as an empty class, not as a class holding `]`.
    assert.match(globProblem('a[]]') ?? '', /empty character class/);
    assert.match(globProblem('[]a]/x') ?? '', /empty character class/);
    assert.match(globProblem('{a,b/**') ?? '', /"\{" without a matching "\}"/);
    assert.match(globProblem('a}/**') ?? '', /"\}" without a matching "\{"/);
    assert.match(globProblem('a\\') ?? '', /unfinished escape/);
  });
});

describe('compileGoRegExp', () => {
  it('translates Go-only syntax', () => {
    assert.ok(compileGoRegExp('(?i)^V1').test('v1.2'));
    assert.equal(compileGoRegExp('(?P<major>\\d+)\\.').exec('12.3')?.groups?.['major'], '12');
    assert.ok(compileGoRegExp('\\Av\\d+\\z').test('v12'));
    assert.ok(!compileGoRegExp('\\Av\\d+\\z').test('v12-rc'));
  });

  it('matches unanchored, as zot does', () => {
    assert.ok(compileGoRegExp('latest').test('not-latest-really'));
  });

  it('reports expressions that do not compile', () => {
    assert.match(regexpProblem('v(1') ?? '', /does not compile/);
    assert.match(regexpProblem('(?U)a+') ?? '', /unsupported inline flag "U"/);
    assert.equal(regexpProblem('^v[0-9]+$'), undefined);
  });
});
