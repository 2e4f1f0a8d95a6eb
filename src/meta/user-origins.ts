/**
 * The UserOrigins port: where each user's identity comes from, `htpasswd` or `oidc:<provider>`, as
 * of their last successful sign-in. Offboarding needs it: an API key or token whose owner signed
 * in with a password stops working when the owner leaves the htpasswd file, while an OIDC user —
 * never in that file — is not affected by it. Shared by every replica through the metadata store.
 * SQLite: `sqlite/user-origins.ts`; PostgreSQL: `postgres/user-origins.ts`.
 */

export type UserOrigin = 'htpasswd' | `oidc:${string}`;

/** A user's origin as stored: `berth migrate` carries it. */
export interface UserOriginRecord {
  readonly username: string;
  readonly origin: UserOrigin;
  readonly recordedAt: Date;
}

export interface UserOriginStore {
  /**
   * Records how `username` just signed in. Called on every password-authenticated request, so an
   * implementation writes only when the origin changed — deciding that from the database, never
   * from what this process wrote last (another replica may have written since).
   */
  record(username: string, origin: UserOrigin, at: Date): Promise<void>;
  /** The origin of `username`'s last sign-in; undefined when none was recorded. */
  originOf(username: string): Promise<UserOrigin | undefined>;
  /** Every user's origin: `berth migrate`. */
  exportAll(): Promise<UserOriginRecord[]>;
  /**
   * Writes exported origins idempotently: a user missing here, or recorded here earlier, takes
   * the given origin; a later record here is kept. Resolves with how many were written.
   */
  restore(origins: readonly UserOriginRecord[]): Promise<number>;
}
