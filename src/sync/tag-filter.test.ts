import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTagFilter, isSemverTag, isSignatureTag } from './tag-filter.js';

const TAGS = [
  'latest',
  'v1.0.0',
  '1.2',
  '2',
  'v1.3.0-rc1',
  '1.2.3-alpine',
  'nightly-2024',
  'v1.0.0.0',
  '01.2.3x',
];
const SIG = `sha256-${'a'.repeat(64)}.sig`;

describe('tag filters (periodic sync)', () => {
  it('keep every tag but signature and referrer tags when no filter is set', () => {
    const keep = compileTagFilter(undefined);
    assert.deepEqual(TAGS.filter(keep), TAGS);
    assert.ok(!keep(SIG));
    assert.ok(!keep(`sha256-${'b'.repeat(64)}`));
  });

  it('semver keeps what Masterminds/semver parses', () => {
    assert.deepEqual(TAGS.filter(compileTagFilter({ semver: true })), [
      'v1.0.0',
      '1.2',
      '2',
      'v1.3.0-rc1',
      '1.2.3-alpine',
    ]);
    assert.ok(isSemverTag('v10.20.30'));
    assert.ok(!isSemverTag('v1.0.0.0'));
  });

  it('regex matches anywhere in the tag, excludeRegex removes, in zot order', () => {
    assert.deepEqual(TAGS.filter(compileTagFilter({ regex: '1\\.' })), [
      'v1.0.0',
      '1.2',
      'v1.3.0-rc1',
      '1.2.3-alpine',
      'v1.0.0.0',
      '01.2.3x',
    ]);
    assert.deepEqual(TAGS.filter(compileTagFilter({ regex: '^v', excludeRegex: '-rc', semver: true })), [
      'v1.0.0',
    ]);
  });

  it('understands Go-only regex syntax', () => {
    assert.deepEqual(TAGS.filter(compileTagFilter({ regex: '(?i)^LATEST$' })), ['latest']);
  });

  it('recognises cosign and referrer tags', () => {
    assert.ok(isSignatureTag(SIG));
    assert.ok(isSignatureTag(`sha256-${'c'.repeat(64)}.att`));
    assert.ok(!isSignatureTag('sha256-short.sig'));
  });
});
