/**
 * The ApiKeyGroups port on PostgreSQL (module `auth-key-grants`): one grant row per service-account
 * key beside `auth_api_keys` (`auth.ts`), as on SQLite. No foreign key, as on SQLite: a grant
 * whose key its owner deleted is never read (listings join from the keys).
 */
import type { ApiKeyGroups, KeyGrant, KeySummary } from '../api-key-groups.js';
import { keyGrantOf, keySummaryOf, type KeyGrantRow, type KeySummaryRow } from '../api-key-group-rows.js';
import { transaction, type Migrations, type Pool } from './database.js';

export const KEY_GRANT_MIGRATIONS: Migrations = {
  module: 'auth-key-grants',
  steps: [
    `CREATE TABLE auth_api_key_grants (
       key_id TEXT PRIMARY KEY,
       groups TEXT NOT NULL DEFAULT '[]',
       -- Who created the key for its owner: an admin's user name, or "cli" for berth keys.
       created_by TEXT NOT NULL
     );`,
  ],
};

export class PostgresApiKeyGroups implements ApiKeyGroups {
  constructor(private readonly pool: Pool) {}

  async grant(keyId: string, groups: readonly string[], createdBy: string): Promise<void> {
    await this.pool.query(
      'INSERT INTO auth_api_key_grants (key_id, groups, created_by) VALUES ($1, $2, $3)',
      [keyId, JSON.stringify([...new Set(groups)]), createdBy],
    );
  }

  async groupsOf(keyId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ groups: string }>(
      'SELECT groups FROM auth_api_key_grants WHERE key_id = $1',
      [keyId],
    );
    return rows[0] === undefined ? [] : (JSON.parse(rows[0].groups) as string[]);
  }

  async revoke(keyId: string): Promise<{ owner: string; label: string } | undefined> {
    return transaction(this.pool, async (db) => {
      const { rows } = await db.query<{ owner: string; label: string }>(
        'DELETE FROM auth_api_keys WHERE id = $1 RETURNING owner, label',
        [keyId],
      );
      if (rows[0] === undefined) return undefined;
      await db.query('DELETE FROM auth_api_key_grants WHERE key_id = $1', [keyId]);
      return { owner: rows[0].owner, label: rows[0].label };
    });
  }

  async list(owner?: string): Promise<KeySummary[]> {
    const { rows } = await this.pool.query<KeySummaryRow>(
      `SELECT k.id, k.owner, k.label, k.created_at, k.expires_at, k.last_used_at, g.groups, g.created_by
       FROM auth_api_keys k LEFT JOIN auth_api_key_grants g ON g.key_id = k.id
       WHERE $1::text IS NULL OR k.owner = $1
       ORDER BY k.created_at, k.id COLLATE "C"`,
      [owner ?? null],
    );
    return rows.map(keySummaryOf);
  }

  async exportAll(): Promise<KeyGrant[]> {
    const { rows } = await this.pool.query<KeyGrantRow>(
      'SELECT key_id, groups, created_by FROM auth_api_key_grants ORDER BY key_id COLLATE "C"',
    );
    return rows.map(keyGrantOf);
  }

  async restore(grants: readonly KeyGrant[]): Promise<number> {
    if (grants.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `INSERT INTO auth_api_key_grants AS g (key_id, groups, created_by)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (key_id) DO UPDATE SET groups = excluded.groups, created_by = excluded.created_by
       WHERE (g.groups, g.created_by) IS DISTINCT FROM (excluded.groups, excluded.created_by)`,
      [
        grants.map((g) => g.keyId),
        grants.map((g) => JSON.stringify([...new Set(g.groups)])),
        grants.map((g) => g.createdBy),
      ],
    );
    return rowCount ?? 0;
  }
}
