/**
 * The ApiKeyGroups port on SQLite: table `auth_api_key_grants` beside `auth_api_keys` (module
 * `auth-key-grants`; names kept as released, so existing data directories open unchanged).
 */
import { migrateModule, type Db } from '../database.js';
import type { ApiKeyGroups, KeyGrant, KeySummary } from '../api-key-groups.js';
import { keyGrantOf, keySummaryOf, type KeyGrantRow, type KeySummaryRow } from '../api-key-group-rows.js';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE auth_api_key_grants (
    key_id TEXT PRIMARY KEY,
    groups TEXT NOT NULL DEFAULT '[]',
    -- Who created the key for its owner: an admin's user name, or "cli" for \`berth keys\`.
    created_by TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
];

/** Needs the auth tables (`migrateAuthTables`) first. */
export class SqliteApiKeyGroups implements ApiKeyGroups {
  readonly #db: Db;

  constructor(db: Db) {
    migrateModule(db, 'auth-key-grants', MIGRATIONS);
    this.#db = db;
  }

  async grant(keyId: string, groups: readonly string[], createdBy: string): Promise<void> {
    this.#db
      .prepare('INSERT INTO auth_api_key_grants (key_id, groups, created_by) VALUES (?, ?, ?)')
      .run(keyId, JSON.stringify([...new Set(groups)]), createdBy);
    return Promise.resolve();
  }

  async groupsOf(keyId: string): Promise<string[]> {
    const row = this.#db.prepare('SELECT groups FROM auth_api_key_grants WHERE key_id = ?').get(keyId) as
      { groups: string } | undefined;
    return Promise.resolve(row === undefined ? [] : (JSON.parse(row.groups) as string[]));
  }

  async revoke(keyId: string): Promise<{ owner: string; label: string } | undefined> {
    const tx = this.#db.transaction(() => {
      const row = this.#db.prepare('SELECT owner, label FROM auth_api_keys WHERE id = ?').get(keyId) as
        { owner: string; label: string } | undefined;
      if (row === undefined) return undefined;
      this.#db.prepare('DELETE FROM auth_api_keys WHERE id = ?').run(keyId);
      this.#db.prepare('DELETE FROM auth_api_key_grants WHERE key_id = ?').run(keyId);
      return row;
    });
    return Promise.resolve(tx.immediate());
  }

  async list(owner?: string): Promise<KeySummary[]> {
    const rows = this.#db
      .prepare(
        `SELECT k.id, k.owner, k.label, k.created_at, k.expires_at, k.last_used_at, g.groups, g.created_by
         FROM auth_api_keys k LEFT JOIN auth_api_key_grants g ON g.key_id = k.id
         WHERE ? IS NULL OR k.owner = ?
         ORDER BY k.created_at, k.id`,
      )
      .all(owner ?? null, owner ?? null) as KeySummaryRow[];
    return Promise.resolve(rows.map(keySummaryOf));
  }

  async exportAll(): Promise<KeyGrant[]> {
    const rows = this.#db
      .prepare('SELECT key_id, groups, created_by FROM auth_api_key_grants ORDER BY key_id')
      .all() as KeyGrantRow[];
    return Promise.resolve(rows.map(keyGrantOf));
  }

  async restore(grants: readonly KeyGrant[]): Promise<number> {
    const upsert = this.#db.prepare(
      `INSERT INTO auth_api_key_grants (key_id, groups, created_by) VALUES (?, ?, ?)
       ON CONFLICT (key_id) DO UPDATE SET groups = excluded.groups, created_by = excluded.created_by
       WHERE groups IS NOT excluded.groups OR created_by IS NOT excluded.created_by`,
    );
    const tx = this.#db.transaction(() => {
      let written = 0;
      for (const g of grants)
        written += upsert.run(g.keyId, JSON.stringify([...new Set(g.groups)]), g.createdBy).changes;
      return written;
    });
    return Promise.resolve(tx.immediate());
  }
}
