import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startUpstreamProxy, type UpstreamProxy } from '../../test/support/token-server.js';
import { parseChallenges, TokenRequestError, UpstreamAuth } from './auth.js';
import { Transport } from './transport.js';

describe('parseChallenges', () => {
  it('reads a Docker Hub bearer challenge', () => {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/nginx:pull',
          },
        },
      ],
    );
  });

  it('reads several challenges, unquoted values, escapes and commas inside quotes', () => {
    assert.deepEqual(
      parseChallenges(
        'Basic realm="a \\"b\\"", Bearer realm=https://x/token, scope="repository:a:pull,push"',
      ),
      [
        { scheme: 'basic', params: { realm: 'a "b"' } },
        { scheme: 'bearer', params: { realm: 'https://x/token', scope: 'repository:a:pull,push' } },
      ],
    );
    assert.deepEqual(
      parseChallenges(['Basic realm="r"', 'Bearer realm="t"']).map((c) => c.scheme),
      ['basic', 'bearer'],
    );
    assert.deepEqual(parseChallenges(undefined), []);
  });
});

describe('UpstreamAuth against a token endpoint', () => {
  let tokens: UpstreamProxy;
  let transport: Transport;
  const log = pino({ level: 'silent' });
  const challenge = (scope: string, self: string): string =>
    `Bearer realm="${self}/token",service="berth-test-registry",scope="${scope}"`;

  before(async () => {
    // Only the token endpoint is used; nothing is forwarded.
    tokens = await startUpstreamProxy({
      target: 'http://127.0.0.1:9',
      tokenAuth: { users: { ci: 'pw' }, tokenTtlSeconds: 120 },
    });
    transport = new Transport({ tlsVerify: true, connectTimeoutMs: 5_000, stallTimeoutMs: 5_000 });
  });

  after(async () => {
    transport.close();
    await tokens.stop();
  });

  it('fetches a token per scope with the credentials, reuses it until shortly before it expires', async () => {
    let now = 1_000_000;
    const auth = new UpstreamAuth({
      transport,
      credentials: { username: 'ci', password: 'pw' },
      log,
      now: () => now,
    });
    const origin = 'http://upstream.invalid';
    tokens.reset();
    assert.equal(
      await auth.headerFor(origin, 'repository:a:pull'),
      undefined,
      'nothing is known before a challenge',
    );

    const first = await auth.answer(origin, 'repository:a:pull', challenge('repository:a:pull', tokens.url));
    assert.match(first ?? '', /^Bearer \S+$/);
    assert.deepEqual(tokens.tokenRequests, [
      { service: 'berth-test-registry', scope: 'repository:a:pull', user: 'ci' },
    ]);

    // Known scheme: later requests get their token up front, from the cache.
    assert.equal(await auth.headerFor(origin, 'repository:a:pull'), first);
    const other = await auth.headerFor(origin, 'repository:b:pull');
    assert.notEqual(other, first);
    assert.equal(tokens.tokenRequests.length, 2);

    now += 100_000; // 120 s tokens are renewed 10 s early
    assert.equal(await auth.headerFor(origin, 'repository:a:pull'), first);
    now += 15_000;
    assert.notEqual(await auth.headerFor(origin, 'repository:a:pull'), first);
    assert.equal(tokens.tokenRequests.length, 3);
  });

  it('fetches one token for concurrent requests', async () => {
    const auth = new UpstreamAuth({ transport, credentials: { username: 'ci', password: 'pw' }, log });
    tokens.reset();
    const headers = await Promise.all(
      Array.from({ length: 5 }, () =>
        auth.answer('http://u.invalid', 'repository:c:pull', challenge('repository:c:pull', tokens.url)),
      ),
    );
    assert.equal(new Set(headers).size, 1);
    assert.equal(tokens.tokenRequests.length, 1);
  });

  it('reports a refused token request with its status', async () => {
    const auth = new UpstreamAuth({ transport, credentials: { username: 'ci', password: 'wrong' }, log });
    await assert.rejects(
      auth.answer('http://u.invalid', 'repository:a:pull', challenge('repository:a:pull', tokens.url)),
      (err: unknown) => err instanceof TokenRequestError && err.status === 401,
    );
  });

  it('answers a Basic challenge with the credentials, and has nothing to send without them', async () => {
    const withCreds = new UpstreamAuth({ transport, credentials: { username: 'u', password: 'p:w' }, log });
    const header = await withCreds.answer('http://u.invalid', 's', 'Basic realm="x"');
    assert.equal(header, `Basic ${Buffer.from('u:p:w').toString('base64')}`);
    assert.equal(await withCreds.headerFor('http://u.invalid', 'other'), header);
    const anonymous = new UpstreamAuth({ transport, credentials: undefined, log });
    assert.equal(await anonymous.answer('http://u.invalid', 's', 'Basic realm="x"'), undefined);
  });
});
