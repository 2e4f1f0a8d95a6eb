/**
 * The ApiKeyGroups port: service-account keys, i.e. API keys an admin created for a user
 * (`berth keys create`, the admin route), carrying the groups the admin gave. A key's groups add
 * to those of its owner's last interactive sign-in; a key created by its owner has no grant and
 * only the owner's groups. Kept apart from the API key table so that table stays as zot's.
 * SQLite: `sqlite/api-key-groups.ts`; PostgreSQL: `postgres/api-key-groups.ts`.
 */

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

/** A service-account key's grant as stored: `berth migrate` carries it beside the key. */
export interface KeyGrant {
  readonly keyId: string;
  readonly groups: readonly string[];
  readonly createdBy: string;
}

export interface ApiKeyGroups {
  /** Records the groups of a key just created for its owner by `createdBy` (duplicates dropped). */
  grant(keyId: string, groups: readonly string[], createdBy: string): Promise<void>;
  /** The groups given to a key at creation ([] for a key its owner created). */
  groupsOf(keyId: string): Promise<string[]>;
  /** Deletes a key by id whoever owns it (admins), with its grant; undefined when there is none. */
  revoke(keyId: string): Promise<{ owner: string; label: string } | undefined>;
  /** Every key (of `owner`, when given), oldest first. */
  list(owner?: string): Promise<KeySummary[]>;
  /** Every grant, by key id: `berth migrate`. */
  exportAll(): Promise<KeyGrant[]>;
  /**
   * Writes exported grants by key id, idempotently (missing or different: written as given).
   * Resolves with how many were written.
   */
  restore(grants: readonly KeyGrant[]): Promise<number>;
}
