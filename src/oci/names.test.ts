import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isValidRepositoryName, isValidTag, MAX_NAME_LENGTH } from './names.js';

describe('repository names follow the spec grammar', () => {
  for (const ok of [
    'a',
    'blobs2',
    'my-blobs/index',
    'library/nginx',
    'docker.io/library/nginx',
    'a-b',
    'a--b',
    'a__b',
    'a.b/c_d',
    '0/1/2',
  ]) {
    it(`accepts ${ok}`, () => assert.equal(isValidRepositoryName(ok), true));
  }
  for (const bad of [
    '',
    'A',
    'a/',
    '/a',
    'a//b',
    '../a',
    'a/../b',
    '.a',
    '_a',
    'a_',
    'a___b',
    'a..b',
    'a%2f',
    'a b',
    '_berth',
    'team/web/index.json',
    'app/blobs/sha256',
    'blobs',
    'x/oci-layout',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(isValidRepositoryName(bad), false));
  }
  it('refuses names longer than the limit', () => {
    assert.equal(isValidRepositoryName('a'.repeat(MAX_NAME_LENGTH)), true);
    assert.equal(isValidRepositoryName('a'.repeat(MAX_NAME_LENGTH + 1)), false);
  });
});

describe('tags follow the spec grammar', () => {
  for (const ok of ['latest', 'v1.2.3', '_x', 'A-b_c.d', 'a'.repeat(128)]) {
    it(`accepts ${ok.slice(0, 20)}`, () => assert.equal(isValidTag(ok), true));
  }
  for (const bad of ['', '-x', '.x', 'a:b', 'a/b', 'a'.repeat(129)]) {
    it(`refuses ${JSON.stringify(bad.slice(0, 20))}`, () => assert.equal(isValidTag(bad), false));
  }
});
