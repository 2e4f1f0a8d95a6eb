import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { loggableUserName, MAX_LOGGED_NAME, REDACTED_NAME } from './loggable-name.js';

describe('loggableUserName', () => {
  for (const name of [
    'alice',
    'zot-ci',
    'artifact-workloads',
    'alice.smith@example.com',
    'svc_deploy_2024',
    'CN=build-agent-07,OU=ci',
  ]) {
    it(`keeps ${name}`, () => assert.equal(loggableUserName(name), name));
  }
  for (const [what, name] of [
    ['an API key', `zak_${randomBytes(16).toString('hex')}`],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLWJ5dGVz'],
    ['random hex', randomBytes(16).toString('hex')],
    // Measures 3.4 bits/char, below the entropy threshold (seen in CI).
    ['low-entropy hex', '145b3045474dfebb441ff8bf24c1556b'],
    ['random base64url', randomBytes(24).toString('base64url')],
  ]) {
    it(`redacts ${what}`, () => assert.equal(loggableUserName(name!), REDACTED_NAME));
  }
  it('caps long names', () => {
    const logged = loggableUserName('x'.repeat(500));
    assert.equal(logged.length, MAX_LOGGED_NAME);
    assert.ok(logged.endsWith('…'));
  });
});
