/**
 * The authorization matrix: every /v2 route, driven as every kind of caller, against the real
 * server running the user's config (`test/fixtures/zot-config.example.json`, adapted only in host
 * names, ports and paths), with identities from a real OpenID Connect provider. Each cell asserts
 * the status, and for refusals the error code and (on 401) a bearer challenge a client can act on.
 *
 * Callers: anonymous; `zot-ci` (group `artifact-workloads`: read + create) with its API key; `alice`
 * (group `admins`: everything) with hers; `bob` (no group: `defaultPolicy`, read) with his; a wrong
 * password; an expired key; a revoked key; and registry bearer tokens from the token endpoint, one
 * anonymous and one of `zot-ci`.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { blobOf, makeImage, pushContent, uploadBlob, type Image } from '../support/fixtures.js';
import { startHomelab, type Homelab } from '../support/oidc.js';

type Role =
  | 'anonymous'
  | 'ci'
  | 'admin'
  | 'user'
  | 'wrong-password'
  | 'expired-key'
  | 'revoked-key'
  | 'anonymous-token'
  | 'ci-token';

const ROLES: readonly Role[] = [
  'anonymous',
  'ci',
  'admin',
  'user',
  'wrong-password',
  'expired-key',
  'revoked-key',
  'anonymous-token',
  'ci-token',
];

/** What the four kinds of callers the policy knows get; the others follow from these. */
interface Expected {
  anonymous: number;
  user: number;
  ci: number;
  admin: number;
}

function expectedFor(role: Role, e: Expected): number {
  switch (role) {
    case 'anonymous':
    case 'anonymous-token':
      return e.anonymous;
    case 'ci':
    case 'ci-token':
      return e.ci;
    case 'admin':
      return e.admin;
    case 'user':
      return e.user;
    default:
      // Credentials that do not check out: 401 everywhere, never anonymous access.
      return 401;
  }
}

interface Fixture {
  repo: string;
  /** Tagged `v1` in `repo`. */
  image: Image;
  /** Its blobs are in `repo`, its manifest is not. */
  other: Image;
  /** An upload session's path in `repo`, when the operation needs one. */
  session?: string;
  /** A blob stored in `repo` and referenced by nothing. */
  loose?: ReturnType<typeof blobOf>;
  /** Bytes for a new blob. */
  fresh: ReturnType<typeof blobOf>;
}

interface Operation {
  name: string;
  needs?: 'session' | 'session-with-data' | 'loose-blob';
  request(f: Fixture): { method: string; path: string; headers?: Record<string, string>; body?: Buffer };
  expect: Expected;
}

const READ: Expected = { anonymous: 200, user: 200, ci: 200, admin: 200 };
const created = (status: number): Expected => ({ anonymous: 401, user: 403, ci: status, admin: status });
const adminOnly = (status: number): Expected => ({ anonymous: 401, user: 403, ci: 403, admin: status });
const MOUNT_SOURCE = 'matrix/mount-source';
const mountBlob = blobOf(`mount source ${Date.now()}`);

const OPERATIONS: Operation[] = [
  {
    name: 'GET /v2/',
    request: () => ({ method: 'GET', path: '/v2/' }),
    expect: { anonymous: 401, user: 200, ci: 200, admin: 200 },
  },
  { name: 'GET /v2/_catalog', request: () => ({ method: 'GET', path: '/v2/_catalog' }), expect: READ },
  {
    name: 'GET tags/list',
    request: (f) => ({ method: 'GET', path: `/v2/${f.repo}/tags/list` }),
    expect: READ,
  },
  {
    name: 'HEAD manifest by tag',
    request: (f) => ({ method: 'HEAD', path: `/v2/${f.repo}/manifests/v1` }),
    expect: READ,
  },
  {
    name: 'GET manifest by tag',
    request: (f) => ({ method: 'GET', path: `/v2/${f.repo}/manifests/v1` }),
    expect: READ,
  },
  {
    name: 'GET manifest by digest',
    request: (f) => ({ method: 'GET', path: `/v2/${f.repo}/manifests/${f.image.manifest.digest}` }),
    expect: READ,
  },
  {
    name: 'HEAD blob',
    request: (f) => ({ method: 'HEAD', path: `/v2/${f.repo}/blobs/${f.image.config.digest}` }),
    expect: READ,
  },
  {
    name: 'GET blob',
    request: (f) => ({ method: 'GET', path: `/v2/${f.repo}/blobs/${f.image.config.digest}` }),
    expect: READ,
  },
  {
    name: 'GET referrers',
    request: (f) => ({ method: 'GET', path: `/v2/${f.repo}/referrers/${f.image.manifest.digest}` }),
    expect: READ,
  },
  {
    name: 'POST blobs/uploads/ (start a session)',
    request: (f) => ({ method: 'POST', path: `/v2/${f.repo}/blobs/uploads/` }),
    expect: created(202),
  },
  {
    name: 'POST blobs/uploads/?digest= (monolithic)',
    request: (f) => ({
      method: 'POST',
      path: `/v2/${f.repo}/blobs/uploads/?digest=${f.fresh.digest}`,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: f.fresh.bytes,
    }),
    expect: created(201),
  },
  {
    name: 'POST blobs/uploads/?mount=&from= (cross-repository mount)',
    request: (f) => ({
      method: 'POST',
      path: `/v2/${f.repo}/blobs/uploads/?mount=${mountBlob.digest}&from=${MOUNT_SOURCE}`,
    }),
    expect: created(201),
  },
  {
    name: 'PATCH an upload session',
    needs: 'session',
    request: (f) => ({
      method: 'PATCH',
      path: f.session!,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: f.fresh.bytes,
    }),
    expect: created(202),
  },
  {
    name: 'PUT an upload session (close it)',
    needs: 'session-with-data',
    request: (f) => ({ method: 'PUT', path: `${f.session!}?digest=${f.fresh.digest}` }),
    expect: created(201),
  },
  {
    name: 'GET an upload session (status)',
    needs: 'session',
    request: (f) => ({ method: 'GET', path: f.session! }),
    expect: { anonymous: 204, user: 204, ci: 204, admin: 204 },
  },
  {
    name: 'DELETE an upload session (cancel)',
    needs: 'session',
    request: (f) => ({ method: 'DELETE', path: f.session! }),
    expect: adminOnly(204),
  },
  {
    name: 'PUT manifest to a new tag',
    request: (f) => manifestPut(f.repo, 'v2', f.other),
    expect: created(201),
  },
  {
    name: 'PUT manifest by digest',
    request: (f) => manifestPut(f.repo, f.other.manifest.digest, f.other),
    expect: created(201),
  },
  {
    name: 'PUT manifest by digest with ?tag= of a new tag',
    request: (f) => manifestPut(f.repo, `${f.other.manifest.digest}?tag=v3`, f.other),
    expect: created(201),
  },
  {
    name: 'PUT the identical manifest to its existing tag (re-push)',
    request: (f) => manifestPut(f.repo, 'v1', f.image),
    expect: created(201),
  },
  {
    name: 'PUT another manifest to an existing tag (overwrite)',
    request: (f) => manifestPut(f.repo, 'v1', f.other),
    expect: adminOnly(201),
  },
  {
    name: 'DELETE manifest by tag',
    request: (f) => ({ method: 'DELETE', path: `/v2/${f.repo}/manifests/v1` }),
    expect: adminOnly(202),
  },
  {
    name: 'DELETE manifest by digest',
    request: (f) => ({ method: 'DELETE', path: `/v2/${f.repo}/manifests/${f.image.manifest.digest}` }),
    expect: adminOnly(202),
  },
  {
    name: 'DELETE blob',
    needs: 'loose-blob',
    request: (f) => ({ method: 'DELETE', path: `/v2/${f.repo}/blobs/${f.loose!.digest}` }),
    expect: adminOnly(202),
  },
];

function manifestPut(
  repo: string,
  reference: string,
  image: Image,
): { method: string; path: string; headers: Record<string, string>; body: Buffer } {
  return {
    method: 'PUT',
    path: `/v2/${repo}/manifests/${reference}`,
    headers: { 'Content-Type': image.manifest.mediaType },
    body: image.manifest.bytes,
  };
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('authorization matrix (the user config, every /v2 route, every caller)', () => {
  let lab: Homelab;
  let admin: Record<string, string>;
  const credentials = new Map<Role, string>();
  let cells = 0;

  before(async () => {
    lab = await startHomelab();
    admin = { Authorization: basic('alice', lab.keys.alice) };
    credentials.set('ci', basic('zot-ci', lab.keys['zot-ci']));
    credentials.set('admin', basic('alice', lab.keys.alice));
    credentials.set('user', basic('bob', lab.keys.bob));
    credentials.set('wrong-password', basic('zot-ci', 'not-the-key'));

    const revoked = await lab.createKey('zot-ci', { label: 'revoked' });
    const revoke = await lab.browsers['zot-ci'].request(
      `${lab.url}/zot/auth/apikey?id=${String(revoked.json.uuid)}`,
      {
        method: 'DELETE',
        headers: { 'X-ZOT-API-CLIENT': 'zot-ui', Origin: lab.url },
      },
    );
    assert.equal(revoke.status, 200);
    credentials.set('revoked-key', basic('zot-ci', String(revoked.json.apiKey)));

    const expiresAt = new Date(Date.now() + 2_000);
    const expiring = await lab.createKey('zot-ci', {
      label: 'expiring',
      expirationDate: expiresAt.toISOString(),
    });
    assert.equal(expiring.status, 201);
    credentials.set('expired-key', basic('zot-ci', String(expiring.json.apiKey)));

    await uploadBlob(lab.url, MOUNT_SOURCE, mountBlob, { headers: admin });
    // Let the expiring key run out before any cell uses it.
    await sleep(Math.max(0, expiresAt.getTime() + 1_000 - Date.now()));
  });

  after(async () => {
    await lab?.stop();
    // 24 routes × 9 callers; the report quotes this number.
    if (cells > 0) process.stdout.write(`# authorization matrix: ${cells} cells\n`);
  });

  /** A token from Berth's token endpoint for everything a cell could need. */
  async function token(repo: string, as: string | undefined): Promise<string> {
    const query = new URLSearchParams([
      ['service', new URL(lab.url).host],
      ['scope', `repository:${repo}:pull,push,delete`],
      ['scope', `repository:${MOUNT_SOURCE}:pull`],
    ]);
    const res = await fetch(`${lab.url}/zot/auth/token?${query.toString()}`, {
      headers: as === undefined ? {} : { Authorization: as },
    });
    assert.equal(res.status, 200, `token endpoint: ${await res.clone().text()}`);
    return ((await res.json()) as { token: string }).token;
  }

  async function authorization(role: Role, repo: string): Promise<Record<string, string>> {
    if (role === 'anonymous') return {};
    if (role === 'anonymous-token') return { Authorization: `Bearer ${await token(repo, undefined)}` };
    if (role === 'ci-token') return { Authorization: `Bearer ${await token(repo, credentials.get('ci'))}` };
    return { Authorization: credentials.get(role)! };
  }

  async function prepare(op: Operation, repo: string): Promise<Fixture> {
    const image = makeImage();
    const other = makeImage();
    await pushContent(lab.url, repo, image, 'v1', { headers: admin });
    for (const blob of other.blobs) await uploadBlob(lab.url, repo, blob, { headers: admin });
    const fixture: Fixture = { repo, image, other, fresh: blobOf(`fresh ${repo} ${Math.random()}`) };
    if (op.needs === 'session' || op.needs === 'session-with-data') {
      const post = await fetch(`${lab.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: admin });
      assert.equal(post.status, 202);
      fixture.session = post.headers.get('location')!;
      if (op.needs === 'session-with-data') {
        const patch = await fetch(`${lab.url}${fixture.session}`, {
          method: 'PATCH',
          headers: { ...admin, 'Content-Type': 'application/octet-stream' },
          body: fixture.fresh.bytes,
        });
        assert.equal(patch.status, 202);
        fixture.session = patch.headers.get('location')!;
      }
    }
    if (op.needs === 'loose-blob') {
      fixture.loose = blobOf(`loose ${repo} ${Math.random()}`);
      await uploadBlob(lab.url, repo, fixture.loose, { headers: admin });
    }
    return fixture;
  }

  OPERATIONS.forEach((op, index) => {
    describe(op.name, () => {
      for (const role of ROLES) {
        const expected = expectedFor(role, op.expect);
        it(`${role} → ${expected}`, async () => {
          const repo = `matrix/op${index}/${role}`;
          const fixture = await prepare(op, repo);
          const request = op.request(fixture);
          const headers = { ...(await authorization(role, repo)), ...request.headers };
          const res = await fetch(`${lab.url}${request.path}`, {
            method: request.method,
            headers,
            body: request.body,
          });
          const text = await res.text();
          cells++;
          assert.equal(
            res.status,
            expected,
            `${role}: ${request.method} ${request.path} → ${res.status} ${text}`,
          );
          if (res.status === 401) {
            const challenge = res.headers.get('www-authenticate') ?? '';
            assert.match(
              challenge,
              new RegExp(`^Bearer realm="${lab.url}/zot/auth/token",service="127\\.0\\.0\\.1:\\d+"`),
            );
            if (request.method !== 'HEAD')
              assert.equal(
                (JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]?.code,
                'UNAUTHORIZED',
              );
          }
          if (res.status === 403 && request.method !== 'HEAD') {
            assert.equal((JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]?.code, 'DENIED');
          }
          if (op.name === 'GET /v2/_catalog' && res.status === 200) {
            assert.ok(
              (JSON.parse(text) as { repositories: string[] }).repositories.includes(repo),
              'the catalog lists the readable repository',
            );
          }
        });
      }
    });
  });
});
