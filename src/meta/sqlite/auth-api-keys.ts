import type { Db } from '../database.js';
import { generateApiKey, hashApiKey } from '../../auth/authn/api-keys.js';
import type { ApiKeyRecord, ApiKeyStore, NewApiKey, StoredApiKey } from '../../auth/store/api-keys.js';

interface Row {
  id: string;
  owner: string;
  label: string;
  scopes: string | null;
  creator_ua: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    owner: row.owner,
    label: row.label,
    scopes: row.scopes === null ? null : (JSON.parse(row.scopes) as string[]),
    creatorUa: row.creator_ua,
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at),
    lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
  };
}

const COLUMNS = 'id, owner, label, scopes, creator_ua, created_at, expires_at, last_used_at';

/** API keys in the metadata database, looked up by the SHA-256 of the key. */
export class SqliteApiKeys implements ApiKeyStore {
  readonly #insert;
  readonly #byHash;
  readonly #byId;
  readonly #byOwner;
  readonly #delete;
  readonly #touch;
  readonly #all;
  readonly #restore;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO auth_api_keys (id, hash, owner, label, scopes, creator_ua, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#byHash = db.prepare(`SELECT ${COLUMNS} FROM auth_api_keys WHERE hash = ?`);
    this.#byId = db.prepare(`SELECT ${COLUMNS} FROM auth_api_keys WHERE id = ?`);
    this.#byOwner = db.prepare(
      `SELECT ${COLUMNS} FROM auth_api_keys WHERE owner = ? ORDER BY created_at, id`,
    );
    this.#delete = db.prepare('DELETE FROM auth_api_keys WHERE owner = ? AND id = ?');
    this.#touch = db.prepare('UPDATE auth_api_keys SET last_used_at = ? WHERE id = ?');
    this.#all = db.prepare(`SELECT ${COLUMNS}, hash FROM auth_api_keys ORDER BY created_at, id`);
    // MAX(a, b) is NULL when either is: COALESCE then takes the one that is set.
    this.#restore = db.prepare(
      `INSERT INTO auth_api_keys (id, hash, owner, label, scopes, creator_ua, created_at, expires_at, last_used_at)
       VALUES (@id, @hash, @owner, @label, @scopes, @creator_ua, @created_at, @expires_at, @last_used_at)
       ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, owner = excluded.owner, label = excluded.label,
         scopes = excluded.scopes, creator_ua = excluded.creator_ua, created_at = excluded.created_at,
         expires_at = excluded.expires_at,
         last_used_at = COALESCE(MAX(last_used_at, excluded.last_used_at), last_used_at, excluded.last_used_at)
       WHERE hash IS NOT excluded.hash OR owner IS NOT excluded.owner OR label IS NOT excluded.label
         OR scopes IS NOT excluded.scopes OR creator_ua IS NOT excluded.creator_ua
         OR created_at IS NOT excluded.created_at OR expires_at IS NOT excluded.expires_at
         OR excluded.last_used_at > COALESCE(last_used_at, -1)`,
    );
  }

  /** Stores a new key and returns it with the secret, which exists only in this return value. */
  async create(input: NewApiKey): Promise<{ record: ApiKeyRecord; key: string }> {
    const generated = generateApiKey();
    this.#insert.run(
      generated.id,
      generated.hash,
      input.owner,
      input.label,
      input.scopes === null ? null : JSON.stringify(input.scopes),
      input.creatorUa,
      input.now.getTime(),
      input.expiresAt?.getTime() ?? null,
    );
    return { record: (await this.findById(generated.id))!, key: generated.key };
  }

  /** The key a presented secret stands for, or undefined (wrong shape or unknown). */
  async findByKey(key: string): Promise<ApiKeyRecord | undefined> {
    const hash = hashApiKey(key);
    if (hash === undefined) return undefined;
    const row = this.#byHash.get(hash) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const row = this.#byId.get(id) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  async listByOwner(owner: string): Promise<ApiKeyRecord[]> {
    return (this.#byOwner.all(owner) as Row[]).map(toRecord);
  }

  /** Deletes one of `owner`'s keys; false when `owner` has no key with that id. */
  async revoke(owner: string, id: string): Promise<boolean> {
    return this.#delete.run(owner, id).changes > 0;
  }

  async recordUse(id: string, at: Date): Promise<void> {
    this.#touch.run(at.getTime(), id);
  }

  async exportAll(): Promise<StoredApiKey[]> {
    return (this.#all.all() as (Row & { hash: string })[]).map((row) => ({
      ...toRecord(row),
      hash: row.hash,
    }));
  }

  async restore(keys: readonly StoredApiKey[]): Promise<number> {
    return this.#db
      .transaction(() => {
        let written = 0;
        for (const key of keys)
          written += this.#restore.run({
            id: key.id,
            hash: key.hash,
            owner: key.owner,
            label: key.label,
            scopes: key.scopes === null ? null : JSON.stringify(key.scopes),
            creator_ua: key.creatorUa,
            created_at: key.createdAt.getTime(),
            expires_at: key.expiresAt?.getTime() ?? null,
            last_used_at: key.lastUsedAt?.getTime() ?? null,
          }).changes;
        return written;
      })
      .immediate();
  }
}
