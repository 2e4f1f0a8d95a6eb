/**
 * Registry tokens whose scope falls short, driven over HTTP the way go-containerregistry's bearer
 * transport (crane, ko, kaniko, Flux) drives a registry: ping, fetch a token for the scopes it
 * expects to need (`push,pull` before a DELETE), send the request, and on a challenge add the scope
 * the challenge names, fetch a new token and retry once.
 *
 * Berth answers as CNCF Distribution does: a request the caller's policy allows but its token does
 * not cover gets 401 with `scope="repository:NAME:ACTIONS"` and `error="insufficient_scope"`; 403 is
 * kept for what the policy itself forbids. Registry-level listings follow the caller's policy, not
 * its token's scope (podman logs in with a token that names no scope, then lists the catalog).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobOf, makeImage, pushContent, uploadBlob } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { writeHtpasswd } from '../support/htpasswd.js';

const PASSWORDS: Record<string, string> = {
  root: 'root-secret',
  carol: 'carol-secret',
  dave: 'dave-secret',
};

function basic(user: string): string {
  return `Basic ${Buffer.from(`${user}:${PASSWORDS[user]!}`).toString('base64')}`;
}

/** The parameters of a `Bearer` challenge (no parameter value here holds a quote). */
function bearerParameters(header: string | null): Record<string, string> {
  if (header === null || !header.startsWith('Bearer ')) return {};
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return params;
}

interface Exchange {
  method: string;
  status: number;
  challenge: Record<string, string>;
}

/**
 * A client that authenticates as go-containerregistry's `bearerTransport` does: scopes requested
 * up front, then, on any answer carrying a challenge, the challenge's scope is put first, a new
 * token fetched (Basic credentials, `GET realm?service=&scope=…`) and the request sent once more.
 */
class GgcrLikeClient {
  readonly exchanges: Exchange[] = [];
  readonly tokenRequests: string[][] = [];
  #token = '';
  #realm = '';
  #service = '';

  constructor(
    private readonly base: string,
    private readonly user: string | undefined,
    private scopes: string[],
  ) {}

  async ping(): Promise<void> {
    const res = await fetch(`${this.base}/v2/`);
    await res.arrayBuffer();
    const challenge = bearerParameters(res.headers.get('www-authenticate'));
    assert.equal(res.status, 401, 'an anonymous ping starts the token flow');
    this.#realm = challenge.realm ?? '';
    this.#service = challenge.service ?? '';
    assert.ok(this.#realm !== '' && this.#service !== '', 'the ping names a realm and a service');
    await this.#refresh();
  }

  async #refresh(): Promise<void> {
    const url = new URL(this.#realm);
    url.searchParams.set('service', this.#service);
    for (const scope of this.scopes) url.searchParams.append('scope', scope);
    this.tokenRequests.push([...this.scopes]);
    const res = await fetch(
      url,
      this.user === undefined ? {} : { headers: { Authorization: basic(this.user) } },
    );
    assert.equal(res.status, 200, `token request ${url.search}`);
    this.#token = ((await res.json()) as { token: string }).token;
  }

  async request(method: string, pathname: string, init: RequestInit = {}): Promise<Response> {
    const send = (): Promise<Response> =>
      fetch(`${this.base}${pathname}`, {
        ...init,
        method,
        headers: {
          ...(init.headers as Record<string, string> | undefined),
          Authorization: `Bearer ${this.#token}`,
        },
      });
    let res = await send();
    const challenge = bearerParameters(res.headers.get('www-authenticate'));
    this.exchanges.push({ method, status: res.status, challenge });
    if (Object.keys(challenge).length === 0) return res;
    await res.arrayBuffer();
    const wanted = challenge.scope;
    if (wanted !== undefined && !this.scopes.includes(wanted)) this.scopes = [wanted, ...this.scopes];
    await this.#refresh();
    res = await send();
    this.exchanges.push({
      method,
      status: res.status,
      challenge: bearerParameters(res.headers.get('www-authenticate')),
    });
    return res;
  }
}

describe('registry tokens that lack a scope (go-containerregistry token flow)', () => {
  let berth: RunningServer;
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-token-scope-'));
    const file = path.join(work, 'htpasswd');
    await writeHtpasswd(file, PASSWORDS);
    berth = await startBerth({
      config: {
        storage: {},
        http: {
          auth: { htpasswd: { path: file } },
          accessControl: {
            groups: { dev: { users: ['carol'] } },
            adminPolicy: { users: ['root'], actions: ['read', 'create', 'update', 'delete'] },
            repositories: {
              '**': { policies: [{ groups: ['dev'], actions: ['read', 'create'] }], defaultPolicy: ['read'] },
              'public/**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] },
              // Readable by anonymous callers only: zot gives signed-in callers nothing here.
              'anon-only/**': { anonymousPolicy: ['read'] },
              'root-only/**': { policies: [{ users: ['root'], actions: ['read'] }] },
            },
          },
        },
      },
    });
    const root = { headers: { Authorization: basic('root') } };
    for (const repo of ['public/app', 'team/app', 'anon-only/app', 'root-only/app']) {
      await pushContent(berth.url, repo, makeImage(), 'v1', root);
    }
  });

  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('an admin deletes a manifest with a push token: 401 naming delete, new token, retry succeeds', async () => {
    const image = makeImage();
    await pushContent(berth.url, 'team/deleted', image, 'v1', { headers: { Authorization: basic('root') } });
    const client = new GgcrLikeClient(berth.url, 'root', ['repository:team/deleted:push,pull']);
    await client.ping();
    const res = await client.request('DELETE', `/v2/team/deleted/manifests/${image.manifest.digest}`);
    await res.arrayBuffer();
    assert.equal(res.status, 202);
    assert.deepEqual(
      client.exchanges.map((e) => e.status),
      [401, 202],
    );
    assert.equal(client.exchanges[0]?.challenge.scope, 'repository:team/deleted:delete');
    assert.equal(client.exchanges[0]?.challenge.error, 'insufficient_scope');
    assert.deepEqual(client.tokenRequests.at(-1), [
      'repository:team/deleted:delete',
      'repository:team/deleted:push,pull',
    ]);
    const gone = await fetch(`${berth.url}/v2/team/deleted/manifests/v1`, {
      headers: { Authorization: basic('root') },
    });
    assert.equal(gone.status, 404);
  });

  it('the same flow deletes a blob and cancels an upload', async () => {
    const loose = blobOf(`loose ${Date.now()}`);
    await uploadBlob(berth.url, 'team/loose', loose, { headers: { Authorization: basic('root') } });
    const client = new GgcrLikeClient(berth.url, 'root', ['repository:team/loose:push,pull']);
    await client.ping();
    const deleted = await client.request('DELETE', `/v2/team/loose/blobs/${loose.digest}`);
    await deleted.arrayBuffer();
    assert.equal(deleted.status, 202);

    const start = await client.request('POST', '/v2/team/loose/blobs/uploads/');
    await start.arrayBuffer();
    assert.equal(start.status, 202);
    const location = start.headers.get('location') ?? '';
    const cancelled = await client.request('DELETE', location);
    await cancelled.arrayBuffer();
    assert.equal(cancelled.status, 204, 'the token already carries delete from the first challenge');
  });

  it('a token asked with `*` covers a delete straight away', async () => {
    const image = makeImage();
    await pushContent(berth.url, 'team/star', image, 'v1', { headers: { Authorization: basic('root') } });
    const client = new GgcrLikeClient(berth.url, 'root', ['repository:team/star:*']);
    await client.ping();
    const res = await client.request('DELETE', `/v2/team/star/manifests/${image.manifest.digest}`);
    await res.arrayBuffer();
    assert.deepEqual(
      client.exchanges.map((e) => e.status),
      [202],
    );
  });

  it('a push with a pull-only token: 401 naming pull,push, then the push succeeds', async () => {
    const image = makeImage();
    const client = new GgcrLikeClient(berth.url, 'carol', ['repository:team/carol:pull']);
    await client.ping();
    const start = await client.request('POST', '/v2/team/carol/blobs/uploads/');
    await start.arrayBuffer();
    assert.equal(start.status, 202);
    assert.equal(client.exchanges[0]?.status, 401);
    assert.equal(client.exchanges[0]?.challenge.scope, 'repository:team/carol:pull,push');
    for (const blob of [image.config, ...image.layers]) {
      const res = await client.request('POST', `/v2/team/carol/blobs/uploads/?digest=${blob.digest}`, {
        body: blob.bytes,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      await res.arrayBuffer();
      assert.equal(res.status, 201);
    }
    const put = await client.request('PUT', '/v2/team/carol/manifests/v1', {
      body: image.manifest.bytes,
      headers: { 'Content-Type': image.manifest.mediaType },
    });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
  });

  it('what the policy forbids stays 403, with no challenge to chase', async () => {
    const image = makeImage();
    await pushContent(berth.url, 'team/kept', image, 'v1', { headers: { Authorization: basic('root') } });
    const client = new GgcrLikeClient(berth.url, 'carol', ['repository:team/kept:push,pull']);
    await client.ping();
    const res = await client.request('DELETE', `/v2/team/kept/manifests/${image.manifest.digest}`);
    const body = (await res.json()) as { errors: Array<{ code: string }> };
    assert.equal(res.status, 403);
    assert.equal(body.errors[0]?.code, 'DENIED');
    assert.equal(res.headers.get('www-authenticate'), null);
    assert.equal(client.exchanges.length, 1, 'nothing to retry');
  });

  it('an anonymous token is asked to authenticate, with the scope a push needs', async () => {
    const client = new GgcrLikeClient(berth.url, undefined, ['repository:public/app:push,pull']);
    await client.ping();
    const start = await client.request('POST', '/v2/public/app/blobs/uploads/');
    await start.arrayBuffer();
    assert.equal(start.status, 401, 'still refused after the retry: anonymous callers may not push');
    assert.equal(client.exchanges[0]?.challenge.scope, 'repository:public/app:pull,push');
    assert.equal(client.exchanges[0]?.challenge.error, 'insufficient_scope');
  });

  describe('_catalog for token-bearing callers', () => {
    async function catalogWith(user: string | undefined, scopes: string[]): Promise<string[]> {
      const client = new GgcrLikeClient(berth.url, user, scopes);
      await client.ping();
      const res = await client.request('GET', '/v2/_catalog');
      assert.equal(res.status, 200);
      return ((await res.json()) as { repositories: string[] }).repositories;
    }

    async function anonymousCatalog(): Promise<string[]> {
      const res = await fetch(`${berth.url}/v2/_catalog`);
      assert.equal(res.status, 200);
      return ((await res.json()) as { repositories: string[] }).repositories;
    }

    it('a token naming no scope (podman login) lists what the caller may read', async () => {
      const listed = await catalogWith('root', []);
      for (const repo of ['public/app', 'team/app', 'anon-only/app', 'root-only/app']) {
        assert.ok(listed.includes(repo), `${repo} in ${JSON.stringify(listed)}`);
      }
      const carol = await catalogWith('carol', []);
      assert.ok(carol.includes('team/app') && carol.includes('public/app'), JSON.stringify(carol));
      assert.ok(!carol.includes('root-only/app'), 'what the policy hides stays hidden');
    });

    it('is never emptier than the anonymous listing', async () => {
      const anonymous = await anonymousCatalog();
      assert.deepEqual(anonymous.sort(), ['anon-only/app', 'public/app']);
      for (const user of ['dave', 'carol', 'root', undefined]) {
        for (const scopes of [[], ['registry:catalog:*']]) {
          const listed = await catalogWith(user, scopes);
          for (const repo of anonymous)
            assert.ok(listed.includes(repo), `${user ?? 'anonymous'} ${scopes.join(' ')}: ${repo}`);
        }
      }
    });

    it('with Basic credentials (no token) as well', async () => {
      const res = await fetch(`${berth.url}/v2/_catalog`, { headers: { Authorization: basic('dave') } });
      const listed = ((await res.json()) as { repositories: string[] }).repositories;
      assert.ok(listed.includes('anon-only/app') && listed.includes('team/app'), JSON.stringify(listed));
      assert.ok(!listed.includes('root-only/app'));
    });
  });
});
