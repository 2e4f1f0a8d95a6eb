/**
 * Service-account keys: API keys an admin created for a user (`berth keys create`, the admin
 * route), carrying the groups the admin gave. A key's groups add to those of its owner's last
 * interactive sign-in; a key created by its owner has no row here and only the owner's groups.
 * Kept apart from `auth_api_keys` so the key table stays as zot's; its migration lives here.
 * Async methods, so moving this to the metadata port is mechanical.
 */
import { migrateModule, type Db } from './database.js';

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

/** Creates or upgrades the table. Idempotent. Needs the auth tables (`migrateAuthTables`) first. */
export function migrateApiKeyGroups(db: Db): void {
  migrateModule(db, 'auth-key-grants', MIGRATIONS);
}

/** Every API key, with the groups an admin gave it: listings and expiry metrics. */
export interface KeySummary {
  readonly id: string;
  readonly owner: string;
  readonly label: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | undefined;
  readonly lastUsedAt: Date | undefined;
  /** Empty for a key its owner created. */
  readonly groups: readonly string[];
  /** Undefined for a key its owner created. */
  readonly createdBy: string | undefined;
}

interface SummaryRow {
  id: string;
  owner: string;
  label: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  groups: string | null;
  created_by: string | null;
}

export class ApiKeyGroups {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Records the groups of a key just created for its owner by `createdBy`. */
  async grant(keyId: string, groups: readonly string[], createdBy: string): Promise<void> {
    this.#db
      .prepare('INSERT INTO auth_api_key_grants (key_id, groups, created_by) VALUES (?, ?, ?)')
      .run(keyId, JSON.stringify([...new Set(groups)]), createdBy);
    return Promise.resolve();
  }

  /** The groups given to a key at creation ([] for a key its owner created). */
  async groupsOf(keyId: string): Promise<string[]> {
    const row = this.#db.prepare('SELECT groups FROM auth_api_key_grants WHERE key_id = ?').get(keyId) as
      { groups: string } | undefined;
    return Promise.resolve(row === undefined ? [] : (JSON.parse(row.groups) as string[]));
  }

  /** Deletes a key by id whoever owns it (admins), with its grant; false when there is none. */
  async revoke(keyId: string): Promise<{ owner: string; label: string } | undefined> {
    const tx = this.#db.transaction(() => {
      const row = this.#db.prepare('SELECT owner, label FROM auth_api_keys WHERE id = ?').get(keyId) as
        { owner: string; label: string } | undefined;
      if (row === undefined) return undefined;
      this.#db.prepare('DELETE FROM auth_api_keys WHERE id = ?').run(keyId);
      this.#db.prepare('DELETE FROM auth_api_key_grants WHERE key_id = ?').run(keyId);
      return row;
    });
    return Promise.resolve(tx());
  }

  /** Every key (of `owner`, when given), oldest first. */
  async list(owner?: string): Promise<KeySummary[]> {
    const rows = this.#db
      .prepare(
        `SELECT k.id, k.owner, k.label, k.created_at, k.expires_at, k.last_used_at, g.groups, g.created_by
         FROM auth_api_keys k LEFT JOIN auth_api_key_grants g ON g.key_id = k.id
         WHERE ? IS NULL OR k.owner = ?
         ORDER BY k.created_at, k.id`,
      )
      .all(owner ?? null, owner ?? null) as SummaryRow[];
    return Promise.resolve(
      rows.map((row) => ({
        id: row.id,
        owner: row.owner,
        label: row.label,
        createdAt: new Date(row.created_at),
        expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at),
        lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
        groups: row.groups === null ? [] : (JSON.parse(row.groups) as string[]),
        createdBy: row.created_by ?? undefined,
      })),
    );
  }
}
