import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { tokenAllows } from '../identity.js';
import { RegistryTokens } from './registry-tokens.js';

const key = { id: 'k1', secret: new Uint8Array(randomBytes(32)) };
const tokens = new RegistryTokens({ key, service: 'registry.example.test', ttlSeconds: 300 });
const now = new Date('2026-05-01T12:00:00Z');

describe('registry tokens', () => {
  it('round-trips a subject and its access, which narrows what the identity may do', async () => {
    const issued = await tokens.issue(
      { username: 'zot-ci', groups: ['artifact-workloads'], method: 'apikey', keyId: 'key-1' },
      [
        { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
        { type: 'repository', name: 'other', actions: ['pull'] },
      ],
      now,
    );
    assert.equal(issued.expiresInSeconds, 300);
    const verified = await tokens.verify(issued.token, new Date(now.getTime() + 60_000));
    assert.ok(verified !== undefined);
    assert.deepEqual(verified.subject, {
      username: 'zot-ci',
      groups: ['artifact-workloads'],
      method: 'apikey',
      keyId: 'key-1',
    });
    const identity = verified.identity;
    assert.equal(identity.method, 'token');
    assert.equal(identity.username, 'zot-ci');
    assert.ok(tokenAllows(identity, 'read', 'team/app'));
    assert.ok(tokenAllows(identity, 'create', 'team/app'));
    assert.ok(tokenAllows(identity, 'update', 'team/app'));
    assert.ok(!tokenAllows(identity, 'delete', 'team/app'));
    assert.ok(tokenAllows(identity, 'read', 'other'));
    assert.ok(!tokenAllows(identity, 'create', 'other'));
    assert.ok(!tokenAllows(identity, 'read', 'elsewhere'));
  });

  it('issues anonymous tokens whose identity is anonymous', async () => {
    const issued = await tokens.issue(
      { username: '', groups: [], method: 'anonymous' },
      [{ type: 'repository', name: 'a', actions: ['pull'] }],
      now,
    );
    const verified = await tokens.verify(issued.token, now);
    assert.equal(verified?.identity.username, '');
    assert.equal(verified?.identity.method, 'anonymous');
    const payload = JSON.parse(Buffer.from(issued.token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.equal(payload.sub, undefined);
  });

  it('lets a catalog token read for listing', async () => {
    const issued = await tokens.issue(
      { username: 'bob', groups: [], method: 'htpasswd' },
      [{ type: 'registry', name: 'catalog', actions: ['*'] }],
      now,
    );
    const verified = await tokens.verify(issued.token, now);
    assert.ok(verified !== undefined && tokenAllows(verified.identity, 'read', 'anything'));
    assert.ok(!tokenAllows(verified.identity, 'create', 'anything'));
  });

  it('refuses expired tokens, other keys, other audiences, tampering and garbage', async () => {
    const issued = await tokens.issue({ username: 'bob', groups: [], method: 'htpasswd' }, [], now);
    assert.equal(
      await tokens.verify(issued.token, new Date(now.getTime() + 301_000 + 30_000)),
      undefined,
      'expired',
    );
    const otherKey = new RegistryTokens({
      key: { id: 'k1', secret: new Uint8Array(randomBytes(32)) },
      service: 'registry.example.test',
    });
    assert.equal(await otherKey.verify(issued.token, now), undefined, 'another secret');
    const otherService = new RegistryTokens({ key, service: 'elsewhere' });
    assert.equal(await otherService.verify(issued.token, now), undefined, 'another audience');
    const [h, p, s] = issued.token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'alice' }),
    ).toString('base64url');
    assert.equal(await tokens.verify(`${h}.${forged}.${s}`, now), undefined, 'tampered');
    assert.equal(await tokens.verify('not-a-jwt', now), undefined);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    assert.equal(await tokens.verify(none, now), undefined, 'alg none');
  });

  it('refuses a validly signed token with malformed claims', async () => {
    const iat = Math.floor(now.getTime() / 1000);
    const bad = await new SignJWT({ access: 'everything', amr: 'htpasswd' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer('berth')
      .setAudience('registry.example.test')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .setSubject('alice')
      .sign(key.secret);
    assert.equal(await tokens.verify(bad, now), undefined);
    const unknownMethod = await new SignJWT({ access: [], amr: 'ldap' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer('berth')
      .setAudience('registry.example.test')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .sign(key.secret);
    assert.equal(await tokens.verify(unknownMethod, now), undefined);
  });
  it('refuses validly signed tokens that live longer than Berth issues, or carry no exp or iat', async () => {
    const iat = Math.floor(now.getTime() / 1000);
    const sign = (claims: { iat?: number; exp?: number }): Promise<string> => {
      let jwt = new SignJWT({ access: [], amr: 'htpasswd' })
        .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .setIssuer('berth')
        .setAudience('registry.example.test')
        .setSubject('alice');
      if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
      if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
      return jwt.sign(key.secret);
    };
    const TEN_YEARS = 10 * 365 * 24 * 3600;
    // The control: exactly the lifetime Berth issues (ttlSeconds 300) is accepted.
    assert.ok(await tokens.verify(await sign({ iat, exp: iat + 300 }), now), 'as issued');
    assert.equal(await tokens.verify(await sign({ iat, exp: iat + 301 }), now), undefined, 'exp - iat > ttl');
    assert.equal(await tokens.verify(await sign({ iat, exp: iat + TEN_YEARS }), now), undefined, 'ten years');
    assert.equal(
      await tokens.verify(await sign({ iat: iat + TEN_YEARS - 300, exp: iat + TEN_YEARS }), now),
      undefined,
      'exp - now > ttl, whatever iat claims',
    );
    assert.equal(await tokens.verify(await sign({ iat }), now), undefined, 'no exp');
    assert.equal(await tokens.verify(await sign({ exp: iat + 300 }), now), undefined, 'no iat');
  });
});
