import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthorization } from './basic.js';

function basic(credentials: string): string {
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

describe('parseAuthorization', () => {
  it('reads Basic credentials', () => {
    assert.deepEqual(parseAuthorization(basic('zot-ci:zak_0123')), {
      kind: 'basic',
      username: 'zot-ci',
      password: 'zak_0123',
    });
  });

  it('splits at the first colon only: passwords may contain colons', () => {
    assert.deepEqual(parseAuthorization(basic('alice:a:b:c')), {
      kind: 'basic',
      username: 'alice',
      password: 'a:b:c',
    });
  });

  it('accepts an empty password (verification will refuse it)', () => {
    assert.deepEqual(parseAuthorization(basic('alice:')), { kind: 'basic', username: 'alice', password: '' });
  });

  it('reads the scheme case-insensitively and tolerates extra blanks', () => {
    const token = Buffer.from('u:p').toString('base64');
    for (const header of [`basic ${token}`, `BASIC ${token}`, `Basic   ${token}  `, `Basic\t${token}`]) {
      assert.deepEqual(parseAuthorization(header), { kind: 'basic', username: 'u', password: 'p' }, header);
    }
  });

  it('accepts base64 without padding', () => {
    const token = Buffer.from('ab:c').toString('base64').replace(/=+$/, '');
    assert.deepEqual(parseAuthorization(`Basic ${token}`), { kind: 'basic', username: 'ab', password: 'c' });
  });

  it('decodes UTF-8 user names and passwords', () => {
    assert.deepEqual(parseAuthorization(basic('jürgen:pässwörd✓')), {
      kind: 'basic',
      username: 'jürgen',
      password: 'pässwörd✓',
    });
  });

  it('counts a missing or empty header, and Basic Og== (base64 of ":"), as no credentials', () => {
    for (const header of [undefined, '', '   ', [], 'Basic Og==', 'basic og==', 'Basic Og']) {
      assert.deepEqual(parseAuthorization(header), { kind: 'none' }, JSON.stringify(header));
    }
  });

  it('accepts a single value given as a one-element list', () => {
    assert.equal(parseAuthorization([basic('u:p')]).kind, 'basic');
  });

  it('refuses more than one Authorization header', () => {
    assert.deepEqual(parseAuthorization([basic('u:p'), basic('v:q')]), {
      kind: 'invalid',
      reason: 'multiple-headers',
    });
    assert.deepEqual(parseAuthorization(['', '']), { kind: 'invalid', reason: 'multiple-headers' });
  });

  it('returns a Bearer token as it is, and refuses an empty or malformed one', () => {
    assert.deepEqual(parseAuthorization('Bearer abc.def-_~+/='), { kind: 'bearer', token: 'abc.def-_~+/=' });
    assert.deepEqual(parseAuthorization('bearer   x.y.z '), { kind: 'bearer', token: 'x.y.z' });
    assert.deepEqual(parseAuthorization('Bearer'), { kind: 'invalid', reason: 'malformed' });
    assert.deepEqual(parseAuthorization('Bearer a b'), { kind: 'invalid', reason: 'malformed' });
    assert.deepEqual(parseAuthorization(`Bearer ${'a'.repeat(8193)}`), {
      kind: 'invalid',
      reason: 'malformed',
    });
  });

  it('refuses other schemes and names them', () => {
    assert.deepEqual(parseAuthorization('Digest username="x"'), {
      kind: 'invalid',
      reason: 'unsupported-scheme',
      scheme: 'digest',
    });
    assert.deepEqual(parseAuthorization('Basicabc'), {
      kind: 'invalid',
      reason: 'unsupported-scheme',
      scheme: 'basicabc',
    });
  });

  it('refuses malformed Basic credentials', () => {
    const malformed = [
      'Basic',
      'Basic ',
      'Basic !!!!',
      'Basic a',
      'Basic ab=c',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(':password-without-user').toString('base64')}`,
      `Basic ${Buffer.from([0x75, 0x3a, 0xff, 0xfe]).toString('base64')}`,
    ];
    for (const header of malformed) {
      assert.deepEqual(parseAuthorization(header), { kind: 'invalid', reason: 'malformed' }, header);
    }
  });
});
