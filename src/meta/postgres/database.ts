/**
 * The PostgreSQL metadata database: one `pg` Pool per process, every query a parameterised
 * statement, and the schema migrated at start-up. Numbers are stored as BIGINT (milliseconds,
 * bytes) and read back as JavaScript numbers (safe up to 2^53, far beyond any size or time here).
 * Text the registry orders (repository names, tags, digests) is `COLLATE "C"`: the catalog and tag
 * lists are in byte order whatever the database's locale.
 */
import pg from 'pg';
import { SCHEMA_NAME } from './schema-name.js';

export type Pool = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

const INT8_OID = 20;

/** int8 (BIGINT, COUNT(*)) as a number instead of pg's default string. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format ?? 'text') as unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PoolOptions {
  url: string;
  /**
   * The schema Berth's tables live in (default `public`): tests give each run a schema of its own
   * on one database; a deployment may share a database with other applications this way.
   */
  schema?: string;
  /** Connections per process (default 10). */
  max?: number;
  /** Errors of idle connections (the server restarted): logged, never thrown. */
  onError?: (err: Error) => void;
}

/** A valid, unquoted identifier: schema names are interpolated into SQL, so nothing else passes. */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`PostgreSQL schema name ${JSON.stringify(schema)}: use lowercase letters, digits and _`);
  }
  return schema;
}

/** How Berth's connections show in pg_stat_activity: which registry (schema) they serve. */
export function applicationName(schema: string): string {
  return `berth/${schema}`;
}

export function openPool(options: PoolOptions): Pool {
  const schema = checkSchemaName(options.schema ?? 'public');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    types,
    // search_path set at connection start-up, so every pooled connection sees the same schema.
    options: `-c search_path=${schema}`,
    application_name: applicationName(schema),
    // A replica must not hang forever on a database that does not answer.
    connectionTimeoutMillis: 10_000,
  });
  // Without a listener, an idle connection's error (server restart, network cut) kills the process.
  pool.on('error', (err) => options.onError?.(err));
  return pool;
}

/** Runs `fn` in one transaction on one pooled connection: COMMIT when it resolves, ROLLBACK when it throws. */
export async function transaction<T>(pool: Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** One module's schema history: each entry upgrades it by one version; never edit a released entry, append. */
export interface Migrations {
  module: string;
  steps: string[];
}

/**
 * Brings every module's tables up to date. Safe when several replicas start at once on one
 * database: the whole migration is one transaction under `pg_advisory_xact_lock`, so the second
 * replica waits for the first to commit, then finds nothing left to do. A transaction-level lock
 * (not a session one) because it must never outlive the transaction, whatever happens to the
 * pooled connection afterwards; and DDL is transactional in PostgreSQL, so a replica dying
 * mid-migration leaves the schema as it was.
 */
export async function migrate(pool: Pool, modules: Migrations[], schema = 'public'): Promise<void> {
  await transaction(pool, async (client) => {
    // One lock per schema: replicas of one deployment wait for each other, other schemas do not.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('berth-migrate:' || $1))`, [schema]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    // Only when missing: CREATE SCHEMA needs a privilege on the database that an existing schema does not.
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${checkSchemaName(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         module TEXT PRIMARY KEY,
         version INTEGER NOT NULL,
         migrated_at TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ module: string; version: number }>(
      'SELECT module, version FROM schema_migrations',
    );
    const current = new Map(rows.map((r) => [r.module, r.version]));
    for (const { module, steps } of modules) {
      const from = current.get(module) ?? 0;
      if (from > steps.length) {
        throw new Error(
          `metadata schema of ${module} is at version ${from}, newer than this Berth (${steps.length})`,
        );
      }
      for (let v = from; v < steps.length; v++) await client.query(steps[v]!);
      if (from < steps.length) {
        await client.query(
          `INSERT INTO schema_migrations (module, version) VALUES ($1, $2)
           ON CONFLICT (module) DO UPDATE SET version = excluded.version, migrated_at = now()`,
          [module, steps.length],
        );
      }
    }
  });
}

/** The database's clock in milliseconds: lease expiries compare with one clock, not each replica's. */
export const DB_NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;
