/**
 * Fresh PostgreSQL schemas for tests: every store a test opens lives in a schema of its own on the
 * run's database (test/support/services.ts), so test files running at once never see each other's
 * rows, and each is dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A new, unused schema name (created by the store's migration). */
export function freshSchemaName(): string {
  return `t_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/** Drops schemas made by `freshSchemaName` (and everything in them). */
export async function dropSchemas(url: string, schemas: Iterable<string>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) {
      if (!/^t_\d+_[0-9a-f]+$/.test(schema)) throw new Error(`not a test schema: ${schema}`);
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  } finally {
    await client.end();
  }
}
