import type { Db } from '../database.js';
import { generateApiKey, hashApiKey } from '../../auth/authn/api-keys.js';
import type { ApiKeyRecord, ApiKeyStore, NewApiKey } from '../../auth/store/api-keys.js';

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

  constructor(db: Db) {
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
}
