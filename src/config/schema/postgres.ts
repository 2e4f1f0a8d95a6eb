/**
 * `storage.cacheDriver` with `name: "postgres"` (and `storage.remoteCache: true`): all metadata in
 * PostgreSQL, so that several Berth replicas share it. zot uses this pair of keys for its remote
 * metadata database (`dynamodb`, `redis`); `postgres` is Berth's own driver, so its block is
 * strict (its keys lower-cased, as zot reads driver blocks). The URL may come from `BERTH_POSTGRES_URL` instead, keeping the password out of the file.
 */
import { z } from 'zod';

import { SCHEMA_NAME } from '../../meta/postgres/schema-name.js';
import { int, str } from './scalars.js';

/** The environment variable that gives the URL when the config does not. */
export const POSTGRES_URL_ENV = 'BERTH_POSTGRES_URL';

const postgresParams = z.strictObject({
  name: z.literal('postgres'),
  /** postgres://user:password@host:5432/database (libpq URL, `?sslmode=…` accepted). */
  url: str()
    .refine((text) => /^postgres(ql)?:\/\/[^/]/.test(text), {
      message: 'expected postgres://user:password@host:5432/database',
    })
    .optional(),
  /** Schema for Berth's tables (default `public`): lowercase letters, digits and `_`. */
  schema: str()
    .refine((text) => SCHEMA_NAME.test(text), {
      message: 'expected lowercase letters, digits and _ (at most 63)',
    })
    .optional(),
  /** Connections each replica opens at most (default 10); all replicas together stay below max_connections. */
  maxconnections: int(1, 1000).optional(),
});

type Problem = { path: (string | number)[]; message: string };

/** Problems with a `postgres` cacheDriver block, each at its key path below the block. */
export function postgresDriverProblems(params: Record<string, unknown>): Problem[] {
  const result = postgresParams.safeParse(params);
  return result.success
    ? []
    : result.error.issues.map((issue) => ({
        path: issue.path.filter((part): part is string | number => typeof part !== 'symbol'),
        message: issue.message,
      }));
}

/** What the metadata store needs, as plain data (`meta/` never imports config). */
export interface PostgresSettings {
  url: string;
  schema: string | undefined;
  maxConnections: number | undefined;
}

/**
 * The PostgreSQL settings when the store's metadata goes to PostgreSQL (`remoteCache` on and a
 * `postgres` cacheDriver), else undefined (the embedded SQLite database). Throws when neither the
 * block nor the environment gives a URL.
 */
export function postgresSettings(
  storage: { remoteCache: boolean; cacheDriver?: Record<string, unknown> | undefined },
  env: NodeJS.ProcessEnv = process.env,
): PostgresSettings | undefined {
  if (!storage.remoteCache || storage.cacheDriver?.['name'] !== 'postgres') return undefined;
  const p = postgresParams.parse(storage.cacheDriver);
  const url = p.url ?? env[POSTGRES_URL_ENV];
  if (url === undefined || url === '') {
    throw new Error(`storage.cacheDriver.url: absent, and ${POSTGRES_URL_ENV} is not set`);
  }
  return { url, schema: p.schema, maxConnections: p.maxconnections };
}
