/**
 * Known answers for each ecosystem's version order, taken from the packaging systems' own
 * documentation and test data: deb-version(7) and Debian Policy §5.6.12, apk-tools'
 * test/version.data, semver.org §11, PEP 440's "Summary of permitted suffixes and relative ordering".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareApk } from './apk.js';
import { compareDpkg } from './dpkg.js';
import { comparePep440 } from './pep440.js';
import { compareSemver } from './semver.js';
import { comparatorFor, type Compare } from './index.js';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Checks "a OP b" lines, and that the opposite order answers the opposite. */
function check(compare: Compare, lines: string[]): void {
  for (const line of lines) {
    const [a, op, b] = line.split(' ') as [string, string, string];
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    assert.equal(sign(compare(a, b)), want, line);
    assert.equal(sign(compare(b, a)), 0 - want || 0, `reversed: ${line}`);
  }
}

/** Checks that a list is in strictly ascending order, pairwise. */
function ascending(compare: Compare, list: string[]): void {
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) check(compare, [`${list[i]} < ${list[j]}`]);
  }
}

describe('dpkg versions', () => {
  it('sorts ~ before everything, even the end, and letters before other characters', () => {
    // Debian Policy §5.6.12: "~~, ~~a, ~, the empty part, a".
    ascending(compareDpkg, ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a']);
    check(compareDpkg, ['1.0~rc1-1 < 1.0-1', '1.0+dfsg-1 > 1.0-1', '1.0.1-1 > 1.0+b1-1']);
  });
  it('compares the epoch first, then upstream, then revision', () => {
    check(compareDpkg, [
      '1:0.1 > 2.0',
      '0:1.2 = 1.2',
      '2.30-1 > 2.4-1',
      '1.2-10 > 1.2-9',
      '1.2-1.1 > 1.2-1',
      '1.2 = 1.2-0',
      '7.88.1-10+deb12u5 < 7.88.1-10+deb12u6',
      '3.0.11-1~deb12u2 < 3.0.11-1',
      '1.2.3-1ubuntu0.1 > 1.2.3-1',
      '010 = 10',
    ]);
  });
});

describe('apk versions', () => {
  it('agrees with apk-tools test/version.data', () => {
    check(compareApk, [
      '2.34 > 0.1.0_alpha',
      '23_foo > 4_beta',
      '1.0 < 1.0bc',
      '0.1.0_alpha = 0.1.0_alpha',
      '0.1.0_alpha2 > 0.1.0_alpha',
      '1.1 > 1.1_alpha1',
      '1.2.1 > 1.2',
      '2.3.0b-r1 < 2.3.0b-r2',
      '0.12.3 > 0.12',
      '1.06-r6 < 006',
      '3.1_p16 < 3.1_p17',
      '1.2.2-r1 > 1.2.2',
      '20060720 > 3.0.20060720',
      '3.9.8-r5 > 2.01.01_alpha10',
      '2.5.1-r8 < 2.5.1a-r1',
      '1.2.07.8 < 1.2.12.04',
      '4.01 < 4.20',
      '0.20070118 < 0.20070207_rc1',
      '2.9.11_pre20051101-r3 > 2.9.11_pre20051101',
      '1.6.8_p12-r1 > 1.6.8_p9-r2',
      '2.12r-r4 < 2.12r-r5',
      '0.59s-r11 < 0.65',
      '1.8.5 < 1.8.5_p2',
      '1.7 < 1.7b',
      '1.3_pre1-r1 < 1.3.2',
      '1.0_p10-r0 > 1.0_p9-r0',
      '0.1.0_alpha_pre2 < 0.1.0_alpha',
      '1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0',
    ]);
  });
  it('orders the suffixes around the release', () => {
    ascending(compareApk, [
      '1.0_alpha',
      '1.0_beta',
      '1.0_pre',
      '1.0_rc1',
      '1.0',
      '1.0-r1',
      '1.0_p1',
      '1.0a',
      '1.0.1',
    ]);
  });
});

describe('semver', () => {
  it('follows semver.org §11', () => {
    ascending(compareSemver, [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '2.0.0',
      '2.1.0',
      '2.1.1',
    ]);
    check(compareSemver, ['1.0.0+build.1 = 1.0.0', '10.0.0 > 9.99.99']);
  });
  it('reads Go module versions with their v prefix, pseudo-versions included', () => {
    check(compareSemver, [
      'v0.17.0 > v0.9.1',
      'v0.0.0-20230101000000-abcdefabcdef < v0.0.0-20240101000000-abcdefabcdef',
      'v1.2.3 = 1.2.3',
      'v2.0.0+incompatible = v2.0.0',
    ]);
  });
});

describe('PEP 440', () => {
  it('orders releases, pre, post, dev and local versions as the PEP lists them', () => {
    ascending(comparePep440, [
      '1.dev0',
      '1.0.dev456',
      '1.0a1',
      '1.0a2.dev456',
      '1.0a12.dev456',
      '1.0a12',
      '1.0b1.dev456',
      '1.0b2',
      '1.0b2.post345.dev456',
      '1.0b2.post345',
      '1.0rc1.dev456',
      '1.0rc1',
      '1.0',
      '1.0+abc.5',
      '1.0+abc.7',
      '1.0+5',
      '1.0.post456.dev34',
      '1.0.post456',
      '1.0.15',
      '1.1.dev1',
    ]);
  });
  it('normalises the alternative spellings', () => {
    check(comparePep440, [
      '1.0alpha1 = 1.0a1',
      '1.0-BETA.2 = 1.0b2',
      '1.0c1 = 1.0rc1',
      '1.0-preview-3 = 1.0rc3',
      '1.0-1 = 1.0.post1',
      '1.0.rev2 = 1.0.post2',
      '1.0.0 = 1',
      '1!0.1 > 2.0',
      'v2.31.0 > 2.4',
    ]);
  });
});

describe('comparatorFor', () => {
  it('picks the order from the ecosystem name before its release', () => {
    assert.equal(comparatorFor('Debian:12'), compareDpkg);
    assert.equal(comparatorFor('Alpine:v3.19'), compareApk);
    assert.equal(comparatorFor('PyPI'), comparePep440);
    assert.equal(comparatorFor('Go'), compareSemver);
    assert.equal(comparatorFor('Maven'), undefined);
  });
});
