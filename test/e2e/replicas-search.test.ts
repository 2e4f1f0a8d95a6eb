/**
 * The search extension, vulnerability scanning and service-account keys on replicas: two `berth
 * serve` processes on one S3 bucket (Ceph RGW) and one PostgreSQL schema, each asked directly (no
 * proxy), so that every check writes through one replica and reads through the other. A push on A
 * is found by GraphQL on B; a star on A counts on B; pulls counted on A show on B; a service key
 * made by `berth keys` (or the admin route of A) pushes through both, and revoked through B stops
 * working on A; a vulnerability scan done by A (the only replica that saw the push) is read from B.
 * Engines from test/support/services.ts (CI=true: a missing engine fails).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { run, type RunResult } from '../support/clients.js';
import { getManifest, makeImage, makeLayer, pushContent } from '../support/fixtures.js';
import { advisory, osvArchive, startOsvServer, type OsvServer } from '../support/osv.js';
import { apkInstalled, osRelease } from '../support/package-images.js';
import { startCluster, type Cluster } from '../support/replicas.js';
import { CLI, type RunningServer } from '../support/server.js';
import { postgresService, s3Service } from '../support/services.js';
import { writeHtpasswd } from '../support/htpasswd.js';

const TIMEOUT = { timeout: 180_000 };
const s3 = s3Service();
const postgres = postgresService();
const skip = s3.skip ?? postgres.skip;

const PASSWORDS = { alice: 'alice-password', bob: 'bob-password' };
const CVE = 'CVE-2024-1111';

const basic = (user: string, password: string): Record<string, string> => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const as = (user: keyof typeof PASSWORDS): Record<string, string> => basic(user, PASSWORDS[user]);

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string }[];
}

/** Asks `check` every 100 ms until it returns a value, for at most 30 s (writes batched per second). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`${what}: never happened (${String(last)})`);
    await sleep(100);
  }
}

if (skip !== undefined) {
  describe('search, CVE scanning and service keys on replicas', { skip }, () => undefined);
} else {
  describe('search, CVE scanning and service keys on replicas', () => {
    let cluster: Cluster;
    let osv: OsvServer;
    let work: string;
    let a: RunningServer;
    let b: RunningServer;

    const graphql = async <T>(
      replica: RunningServer,
      query: string,
      headers: Record<string, string> = {},
    ): Promise<T> => {
      const res = await fetch(`${replica.url}/v2/_zot/ext/search?query=${encodeURIComponent(query)}`, {
        headers,
      });
      const body = (await res.json()) as GraphQLBody;
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data as T;
    };
    const berthKeys = (args: string[]): Promise<RunResult> =>
      run(process.execPath, [CLI, 'keys', args[0]!, a.configPath, ...args.slice(1)]);

    before(async () => {
      work = await mkdtemp(path.join(tmpdir(), 'e2e-replicas-search-'));
      osv = await startOsvServer({
        Alpine: osvArchive([
          advisory({
            id: CVE,
            ecosystem: 'Alpine:v3.19',
            name: 'openssl',
            fixed: '3.1.4-r5',
            severity: 'HIGH',
          }),
        ]),
      });
      const htpasswd = path.join(work, 'htpasswd');
      await writeHtpasswd(htpasswd, PASSWORDS);
      cluster = await startCluster(s3.service!, postgres.service!, {
        replicas: 2,
        env: { BERTH_TOKEN_SECRET: 'replicas-search-token-secret-0123456789abcdef' },
        config: {
          http: {
            auth: { htpasswd: { path: htpasswd }, apikey: true },
            accessControl: {
              repositories: {
                '**': { policies: [], anonymousPolicy: ['read'], defaultPolicy: ['read'] },
                'ci/**': {
                  policies: [{ groups: ['deployers'], actions: ['read', 'create', 'update'] }],
                  anonymousPolicy: ['read'],
                  defaultPolicy: ['read'],
                },
              },
              adminPolicy: { users: ['alice'], actions: ['read', 'create', 'update', 'delete'] },
            },
          },
          extensions: {
            search: {
              enable: true,
              cve: { updateInterval: '24h', osvUrl: osv.url, osvEcosystems: ['Alpine'] },
            },
            ui: { enable: true },
          },
        },
      });
      [a, b] = cluster.replicas as [RunningServer, RunningServer];
    });

    after(async () => {
      await cluster?.stop();
      await osv?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('an image pushed through A is found by GraphQL search on B', TIMEOUT, async () => {
      const image = makeImage({
        layerSizes: [3000],
        annotations: { 'org.opencontainers.image.description': 'pushed through A' },
      });
      await pushContent(a.url, 'team/finder', image, 'v1', { headers: as('alice') });
      const found = await graphql<{ GlobalSearch: { Repos: { Name: string }[] } }>(
        b,
        '{GlobalSearch(query:"finder"){Repos{Name}}}',
      );
      assert.deepEqual(
        found.GlobalSearch.Repos.map((r) => r.Name),
        ['team/finder'],
      );
      const described = await graphql<{ Image: { Digest: string; Description: string } }>(
        b,
        '{Image(image:"team/finder:v1"){Digest Description}}',
      );
      assert.deepEqual(described.Image, { Digest: image.manifest.digest, Description: 'pushed through A' });
    });

    it('a star given on A counts on B; a second toggle on B takes it back on A', TIMEOUT, async () => {
      await pushContent(a.url, 'team/starry', makeImage(), 'v1', { headers: as('alice') });
      const toggle = async (replica: RunningServer, user: keyof typeof PASSWORDS): Promise<void> => {
        const res = await fetch(`${replica.url}/v2/_zot/ext/userprefs?action=toggleStar&repo=team/starry`, {
          method: 'PUT',
          headers: as(user),
        });
        await res.arrayBuffer();
        assert.equal(res.status, 200);
      };
      const stars = async (replica: RunningServer, user: keyof typeof PASSWORDS) =>
        (
          await graphql<{
            GlobalSearch: { Repos: { Name: string; StarCount: number; IsStarred: boolean }[] };
          }>(replica, '{GlobalSearch(query:"starry"){Repos{Name StarCount IsStarred}}}', as(user))
        ).GlobalSearch.Repos;
      await toggle(a, 'bob');
      await toggle(b, 'alice');
      assert.deepEqual(await stars(b, 'bob'), [{ Name: 'team/starry', StarCount: 2, IsStarred: true }]);
      await toggle(b, 'bob');
      assert.deepEqual(await stars(a, 'bob'), [{ Name: 'team/starry', StarCount: 1, IsStarred: false }]);
      assert.deepEqual(await stars(a, 'alice'), [{ Name: 'team/starry', StarCount: 1, IsStarred: true }]);
    });

    it('pulls counted on A and on B add up, read from either', TIMEOUT, async () => {
      const image = makeImage();
      await pushContent(a.url, 'team/pulled', image, 'v1', { headers: as('alice') });
      for (const replica of [a, a, b]) {
        const got = await getManifest(replica.url, 'team/pulled', 'v1');
        assert.equal(got.status, 200);
      }
      // Each replica adds its pulls to the shared counts about once a second.
      const count = async (replica: RunningServer): Promise<number> =>
        (
          await graphql<{ Image: { DownloadCount: number } }>(
            replica,
            '{Image(image:"team/pulled:v1"){DownloadCount}}',
          )
        ).Image.DownloadCount;
      await eventually('3 downloads seen on B', async () => ((await count(b)) === 3 ? true : undefined));
      assert.equal(await count(a), 3);
    });

    it(
      'a service key made by `berth keys` pushes through both replicas; revoked through the admin route of B, it fails on A',
      TIMEOUT,
      async () => {
        const created = await berthKeys([
          'create',
          '--user',
          'zot-ci',
          '--groups',
          'deployers',
          '--label',
          'ci',
        ]);
        assert.equal(created.code, 0, created.stderr);
        const key = created.stdout.trim();
        const ci = basic('zot-ci', key);
        await pushContent(a.url, 'ci/app', makeImage(), 'a', { headers: ci });
        await pushContent(b.url, 'ci/app', makeImage(), 'b', { headers: ci });
        const denied = await fetch(`${b.url}/v2/other/blobs/uploads/`, { method: 'POST', headers: ci });
        await denied.arrayBuffer();
        assert.equal(denied.status, 403, 'the group grants ci/** only');

        const listed = await berthKeys(['list', '--json']);
        assert.equal(listed.code, 0, listed.stderr);
        const keys = (
          JSON.parse(listed.stdout) as { apiKeys: { id: string; owner: string; groups: string[] }[] }
        ).apiKeys;
        const mine = keys.find((k) => k.owner === 'zot-ci');
        assert.deepEqual(mine?.groups, ['deployers']);

        const adminList = (await (
          await fetch(`${b.url}/berth/admin/apikeys`, { headers: as('alice') })
        ).json()) as { apiKeys: { uuid: string; user: string; groups: string[] }[] };
        assert.deepEqual(
          adminList.apiKeys.find((k) => k.uuid === mine.id)?.groups,
          ['deployers'],
          "B's admin route lists the key the CLI made in PostgreSQL",
        );
        const del = await fetch(`${b.url}/berth/admin/apikeys?id=${mine.id}`, {
          method: 'DELETE',
          headers: as('alice'),
        });
        await del.arrayBuffer();
        assert.ok(del.ok, `revoke: ${del.status}`);
        const after = await fetch(`${a.url}/v2/ci/app/tags/list`, { headers: ci });
        await after.arrayBuffer();
        assert.equal(after.status, 401, 'revoked through B, refused by A');
      },
    );

    it('a service key made through the admin route of A carries its groups on B', TIMEOUT, async () => {
      const created = await fetch(`${a.url}/berth/admin/apikeys`, {
        method: 'POST',
        headers: as('alice'),
        body: JSON.stringify({ user: 'svc', groups: ['deployers'], label: 'deploy', expires: '30d' }),
      });
      assert.equal(created.status, 201);
      const { apiKey } = (await created.json()) as { apiKey: string };
      await pushContent(b.url, 'ci/svc', makeImage(), 'v1', { headers: basic('svc', apiKey) });
      const listed = await berthKeys(['list', '--json']);
      const svc = (
        JSON.parse(listed.stdout) as { apiKeys: { owner: string; groups: string[]; createdBy: string }[] }
      ).apiKeys.find((k) => k.owner === 'svc');
      assert.deepEqual(
        svc && [svc.groups, svc.createdBy],
        [['deployers'], 'alice'],
        '`berth keys list` sees it',
      );
    });

    it('a vulnerability scan done by A, which saw the push, is read from B', TIMEOUT, async () => {
      const layer = makeLayer({
        files: [osRelease('alpine', '3.19.1'), apkInstalled([{ name: 'openssl', version: '3.1.4-r0' }])],
      });
      const image = makeImage({ layers: [layer] });
      await pushContent(a.url, 'apps/alpine', image, 'old', { headers: as('alice') });
      // The UI's reader only reads stored scans (it never starts one): what B shows, A stored.
      const scan = await eventually('the scan shows on B', async () => {
        const res = await fetch(`${b.url}/_berth/ui/api/vulnerabilities?name=apps/alpine&reference=old`, {
          headers: { 'X-ZOT-API-CLIENT': 'zot-ui' },
        });
        const body = (await res.json()) as { scanned: boolean; vulnerabilities: { id: string }[] };
        return body.scanned ? body : undefined;
      });
      assert.deepEqual(
        scan.vulnerabilities.map((v) => v.id),
        [CVE],
      );
      const listed = await graphql<{ CVEListForImage: { CVEList: { Id: string; Severity: string }[] } }>(
        b,
        '{CVEListForImage(image:"apps/alpine:old"){CVEList{Id Severity}}}',
      );
      assert.deepEqual(listed.CVEListForImage.CVEList, [{ Id: CVE, Severity: 'HIGH' }]);
    });
  });
}
