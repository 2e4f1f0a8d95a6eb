/**
 * The API-key records port (part of the MetadataStore): keys stored by the SHA-256 of the secret,
 * never the secret itself. SQLite implementation: `meta/sqlite/auth-api-keys.ts`.
 */

/** One API key as stored: never the key itself, only its hash. */
export interface ApiKeyRecord {
  /** The public id (zot's `uuid`), used to list and revoke the key. */
  readonly id: string;
  readonly owner: string;
  readonly label: string;
  /** Stored and echoed as zot does; never enforced (a key has exactly its owner's rights). */
  readonly scopes: readonly string[] | null;
  /** The User-Agent of the request that created the key. */
  readonly creatorUa: string;
  readonly createdAt: Date;
  /** Undefined: never expires. */
  readonly expiresAt: Date | undefined;
  readonly lastUsedAt: Date | undefined;
}

export interface NewApiKey {
  readonly owner: string;
  readonly label: string;
  readonly scopes: readonly string[] | null;
  readonly creatorUa: string;
  readonly expiresAt: Date | undefined;
  readonly now: Date;
}

/**
 * A key as stored, its hash included: what `berth migrate` carries from one store to another, so
 * that a key keeps working there. The hash is what the store holds anyway, never the key.
 */
export interface StoredApiKey extends ApiKeyRecord {
  readonly hash: string;
}

export interface ApiKeyStore {
  /** Stores a new key and returns it with the secret, which exists only in this return value. */
  create(input: NewApiKey): Promise<{ record: ApiKeyRecord; key: string }>;
  /** The key a presented secret stands for, or undefined (wrong shape or unknown). */
  findByKey(key: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  listByOwner(owner: string): Promise<ApiKeyRecord[]>;
  /** Deletes one of `owner`'s keys; false when `owner` has no key with that id. */
  revoke(owner: string, id: string): Promise<boolean>;
  recordUse(id: string, at: Date): Promise<void>;
  /** Every key as stored (hashes, never keys), oldest first: `berth migrate`. */
  exportAll(): Promise<StoredApiKey[]>;
  /**
   * Writes exported keys by id, idempotently (a resumed migration writes them again): a key
   * missing or different is written as given, except that the later last use of the two is
   * kept. Resolves with how many keys were written (the rest were there already, the same).
   */
  restore(keys: readonly StoredApiKey[]): Promise<number>;
}
