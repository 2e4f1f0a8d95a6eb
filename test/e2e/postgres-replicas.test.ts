/**
 * Two real `berth serve` processes whose metadata is in PostgreSQL (`storage.remoteCache` with a
 * `postgres` cacheDriver), on one data directory for the blobs: a push through one is in the
 * other's catalog and tag list at once; a sign-in and an API key made through one work on the
 * other. PostgreSQL from test/support/services.ts (under CI=true a missing PostgreSQL fails).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import { META_DB_FILE } from '../../src/registry/layout.js';
import { getManifest, makeImage, pushContent } from '../support/fixtures.js';
import { UI_HEADER } from '../support/oidc.js';
import { dropSchemas, freshSchemaName } from '../support/postgres.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { postgresService } from '../support/services.js';

const TIMEOUT = { timeout: 120_000 };
const postgres = postgresService();

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

if (postgres.skip !== undefined) {
  describe('replicas on PostgreSQL metadata', { skip: postgres.skip }, () => undefined);
} else {
  const url = postgres.service;
  describe('replicas on PostgreSQL metadata', () => {
    const servers: RunningServer[] = [];
    const cleanup: string[] = [];
    const schemas: string[] = [];
    after(async () => {
      for (const s of servers) await s.stop();
      for (const p of cleanup) await rm(p, { recursive: true, force: true });
      await dropSchemas(url, schemas);
    });

    /** Two replicas started at once on an empty schema; the URL from the config or from BERTH_POSTGRES_URL. */
    async function pair(
      config: Record<string, unknown>,
      urlFrom: 'config' | 'env',
    ): Promise<[RunningServer, RunningServer]> {
      const root = await mkdtemp(path.join(tmpdir(), 'berth-pg-'));
      cleanup.push(root, `${root}.config.json`);
      const schema = freshSchemaName();
      schemas.push(schema);
      const full = {
        ...config,
        storage: {
          remoteCache: true,
          cacheDriver: { name: 'postgres', schema, ...(urlFrom === 'config' ? { url } : {}) },
        },
      };
      const env = urlFrom === 'env' ? { BERTH_POSTGRES_URL: url } : {};
      const started = await Promise.allSettled([
        startBerth({ config: full, root, cleanup: false, env }),
        startBerth({ config: full, root, cleanup: false, env }),
      ]);
      for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      return [servers.at(-2)!, servers.at(-1)!];
    }

    it(
      'a push through one replica is in the catalog and tag list of the other; a delete too',
      TIMEOUT,
      async () => {
        const [a, b] = await pair({}, 'config');
        const first = makeImage({ layerSizes: [2000] });
        await pushContent(a.url, 'team/app', first, 'v1');
        const catalog = await fetch(`${b.url}/v2/_catalog`);
        assert.deepEqual(await catalog.json(), { repositories: ['team/app'] });
        await pushContent(b.url, 'team/app', makeImage(), 'v2');
        await pushContent(b.url, 'other', makeImage(), 'latest');
        const tags = await fetch(`${a.url}/v2/team/app/tags/list`);
        assert.deepEqual(await tags.json(), { name: 'team/app', tags: ['v1', 'v2'] });
        assert.deepEqual(await (await fetch(`${a.url}/v2/_catalog`)).json(), {
          repositories: ['other', 'team/app'],
        });
        const pulled = await getManifest(b.url, 'team/app', 'v1');
        assert.equal(pulled.status, 200);
        assert.equal(pulled.digestHeader, first.manifest.digest);

        const del = await fetch(`${b.url}/v2/team/app/manifests/${first.manifest.digest}`, {
          method: 'DELETE',
        });
        assert.equal(del.status, 202);
        assert.equal((await getManifest(a.url, 'team/app', 'v1')).status, 404);
        assert.deepEqual(await (await fetch(`${a.url}/v2/team/app/tags/list`)).json(), {
          name: 'team/app',
          tags: ['v2'],
        });

        // The records are in PostgreSQL, not in a SQLite file the two processes would also share.
        assert.equal(existsSync(path.join(a.root, META_DB_FILE)), false, 'no SQLite metadata database');
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const { rows } = await client.query<{ tag: string }>(
            `SELECT tag FROM ${schemas.at(-1)!}.tags WHERE repo = 'team/app' ORDER BY tag`,
          );
          assert.deepEqual(rows, [{ tag: 'v2' }]);
        } finally {
          await client.end();
        }
      },
    );

    it('a session made on one replica and an API key made with it work on the other', TIMEOUT, async () => {
      const work = await mkdtemp(path.join(tmpdir(), 'berth-pg-auth-'));
      cleanup.push(work);
      const htpasswd = path.join(work, 'htpasswd');
      await writeFile(htpasswd, `carol:${await bcrypt.hash('carol-pw', 5)}\n`);
      const [a, b] = await pair(
        {
          http: {
            auth: { htpasswd: { path: htpasswd }, apikey: true },
            accessControl: {
              repositories: { '**': { policies: [{ users: ['carol'], actions: ['read', 'create'] }] } },
            },
          },
        },
        'env',
      );
      const signIn = await fetch(`${a.url}/v2/`, {
        headers: { ...UI_HEADER, ...basic('carol', 'carol-pw') },
      });
      assert.equal(signIn.status, 200);
      const cookie = signIn.headers
        .getSetCookie()
        .find((c) => c.startsWith('session='))!
        .split(';')[0]!;
      const created = await fetch(`${b.url}/zot/auth/apikey`, {
        method: 'POST',
        headers: { ...UI_HEADER, Cookie: cookie, 'Content-Type': 'application/json', Origin: b.url },
        body: JSON.stringify({ label: 'ci' }),
      });
      assert.equal(created.status, 201, 'the session made on A is honoured on B');
      const { apiKey } = (await created.json()) as { apiKey: string };

      const withKey = await fetch(`${a.url}/v2/_catalog`, { headers: basic('carol', apiKey) });
      assert.equal(withKey.status, 200, 'the key made on B authenticates on A');
      const wrong = await fetch(`${a.url}/v2/_catalog`, {
        headers: basic('carol', `${apiKey.slice(0, -2)}xx`),
      });
      assert.equal(wrong.status, 401);
      const listed = await fetch(`${a.url}/zot/auth/apikey`, { headers: { ...UI_HEADER, Cookie: cookie } });
      assert.equal(listed.status, 200);
      assert.match(await listed.text(), /"label":"ci"/);
    });
  });
}
