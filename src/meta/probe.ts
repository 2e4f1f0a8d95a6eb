/**
 * `berth verify --online`'s look at the metadata database: reachable and writable, without
 * changing it (every write is rolled back) and without migrating it (that is `berth serve`'s job).
 * The one place outside the stores that touches a database handle, so it lives in `meta/`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { checkSchemaName } from './postgres/database.js';

/** Which part of the settings a failure is about, for the caller to name its configuration key. */
export type ProbePart = 'connection' | 'schema' | 'file';

export class MetadataProbeError extends Error {
  constructor(
    readonly part: ProbePart,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MetadataProbeError';
  }
}

function reason(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** `host:port/database` of a PostgreSQL URL: never the password. */
export function postgresTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured server';
  }
}

/**
 * Connects, then in one transaction that is rolled back: creates a table in the schema (or the
 * schema itself when it does not exist yet, as the first start will). Returns what was checked.
 */
export async function probePostgres(url: string, schema = 'public', timeoutMs = 10_000): Promise<string> {
  const where = postgresTarget(url);
  checkSchemaName(schema);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A server that drops the connection later must not crash the process with an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new MetadataProbeError('connection', `cannot connect to PostgreSQL at ${where}: ${reason(err)}`, {
      cause: err,
    });
  }
  try {
    const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]
      ?.server_version;
    const readOnly = (await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only'))
      .rows[0];
    if (readOnly?.transaction_read_only === 'on')
      throw new MetadataProbeError('connection', `PostgreSQL at ${where} is read-only (a standby?)`);
    await client.query('BEGIN');
    try {
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      try {
        if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
        else await client.query(`CREATE TABLE ${schema}.berth_verify_probe (id integer)`);
      } catch (err) {
        throw new MetadataProbeError(
          'schema',
          `PostgreSQL at ${where}: cannot ${exists.rowCount === 0 ? 'create schema' : 'create tables in schema'} ${schema}: ${reason(err)}`,
          { cause: err },
        );
      }
    } finally {
      await client.query('ROLLBACK');
    }
    return `PostgreSQL ${version ?? '?'} at ${where}: connected; schema ${schema} writable (a write transaction, rolled back)`;
  } catch (err) {
    if (err instanceof MetadataProbeError) throw err;
    throw new MetadataProbeError('connection', `PostgreSQL at ${where}: ${reason(err)}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Opens the SQLite file and takes its write lock (`BEGIN IMMEDIATE`, rolled back). A missing file
 * is fine: the first start creates it (the storage check has shown its folder writable).
 */
export function probeSqlite(file: string): string {
  if (!existsSync(file))
    return `SQLite ${file}: not created yet; the first start creates it in ${path.dirname(file)}`;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true, timeout: 5_000 });
    const version = db.pragma('user_version', { simple: true }) as number;
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return `SQLite ${file}: opened (schema version ${version}); writable (took the write lock, rolled back)`;
  } catch (err) {
    throw new MetadataProbeError('file', `SQLite ${file}: ${reason(err)}`, { cause: err });
  } finally {
    db?.close();
  }
}
