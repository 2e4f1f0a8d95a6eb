/**
 * The PostgreSQL store against a real PostgreSQL (test/support/services.ts: BERTH_TEST_POSTGRES_URL
 * or a server started for this file; under CI=true a missing PostgreSQL fails the file). Every
 * contract runs on two stores with pools of their own on one schema, as two replicas see one
 * database; each test gets a fresh schema, dropped at the end.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { postgresService } from '../../../test/support/services.js';
import { dropSchemas, freshSchemaName } from '../../../test/support/postgres.js';
import { describeCoordinationContract } from '../../coordination/contract.js';
import { describeMetadataStoreContract } from '../contract.js';
import { describeSharedStoreContract } from '../shared-store.contract.js';
import { describeUploadSessionsContract } from '../upload-sessions.contract.js';
import { openPostgresStore, POSTGRES_MIGRATIONS, type OpenedPostgresStore } from './store.js';
import { PostgresUploadSessions } from './upload-sessions.js';

const postgres = postgresService();

async function until(condition: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

if (postgres.skip !== undefined) {
  describe('PostgreSQL metadata store', { skip: postgres.skip }, () => undefined);
} else {
  const url = postgres.service;
  const schemas: string[] = [];
  const open: OpenedPostgresStore[] = [];

  /** Two replicas' stores on one new schema. */
  const pair = async (): Promise<[OpenedPostgresStore, OpenedPostgresStore]> => {
    const schema = freshSchemaName();
    schemas.push(schema);
    const a = await openPostgresStore({ url, schema, poolSize: 4 });
    const b = await openPostgresStore({ url, schema, poolSize: 4 });
    open.push(a, b);
    return [a, b];
  };

  after(async () => {
    await Promise.all(open.map((s) => s.meta.close()));
    await dropSchemas(url, schemas);
  });

  describeMetadataStoreContract('PostgreSQL, two pools on one database', async () => {
    const [a, b] = await pair();
    return {
      a: a.meta,
      b: b.meta,
      close: async () => void (await Promise.all([a.meta.close(), b.meta.close()])),
    };
  });

  describeSharedStoreContract('PostgreSQL, two pools on one database', async () => {
    const [a, b] = await pair();
    return {
      a: a.meta,
      b: b.meta,
      close: async () => void (await Promise.all([a.meta.close(), b.meta.close()])),
    };
  });

  describeCoordinationContract('PostgreSQL, two pools on one database', async () => {
    const [a, b] = await pair();
    return {
      a: a.coordination,
      b: b.coordination,
      close: async () => void (await Promise.all([a.meta.close(), b.meta.close()])),
    };
  });

  describeUploadSessionsContract('PostgreSQL, two pools on one database', async () => {
    const [a, b] = await pair();
    return [new PostgresUploadSessions(a.pool), new PostgresUploadSessions(b.pool)];
  });

  describe('PostgreSQL connections', () => {
    it('replicas whose connections the server cut carry on: the pools reconnect, a waiter still gets the lock', async () => {
      const [a, b] = await pair();
      const schema = (await a.pool.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const first = b.coordination.withLock('repo:x', async () => {
        entered();
        await held;
      });
      await inside;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        // Every connection of both replicas (pools and LISTEN connections); b's lease is a row and stays.
        const cut = await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [`berth/${schema}`],
        );
        assert.ok((cut.rowCount ?? 0) >= 2);
      } finally {
        await admin.end();
      }
      // The pools drop the dead idle connections as they learn of it (a query on one in that
      // moment fails once, as any request during a database failover would).
      await until(() => a.pool.idleCount === 0 && b.pool.idleCount === 0);
      let got = false;
      const second = a.coordination.withLock('repo:x', async () => void (got = true));
      release();
      await Promise.all([first, second]);
      assert.equal(got, true);
      await a.meta.registryIndex.addBlob('r', 'sha256:01', 1);
      assert.deepEqual(await b.meta.registryIndex.blobHolders('sha256:01'), ['r']);
    });
  });

  describe('PostgreSQL schema migrations', () => {
    it('replicas starting at once on an empty database migrate it once and all open', async () => {
      const schema = freshSchemaName();
      schemas.push(schema);
      const stores = await Promise.all(
        Array.from({ length: 5 }, () => openPostgresStore({ url, schema, poolSize: 2 })),
      );
      open.push(...stores);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ module: string; version: number }>(
          `SELECT module, version FROM ${schema}.schema_migrations ORDER BY module`,
        );
        assert.deepEqual(
          rows,
          POSTGRES_MIGRATIONS.map((m) => ({ module: m.module, version: m.steps.length })).sort((x, y) =>
            x.module.localeCompare(y.module),
          ),
        );
      } finally {
        await client.end();
      }
      for (const store of stores) await store.meta.ping();
      await stores[0]!.meta.registryIndex.addBlob('r', 'sha256:00', 1);
      assert.deepEqual(await stores[4]!.meta.registryIndex.blobHolders('sha256:00'), ['r']);
    });

    it('refuses a schema newer than this Berth', async () => {
      const [a] = await pair();
      await a.pool.query("UPDATE schema_migrations SET version = version + 1 WHERE module = 'auth'");
      const schema = (await a.pool.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
      await assert.rejects(openPostgresStore({ url, schema }), /newer than this Berth/);
    });
  });
}
