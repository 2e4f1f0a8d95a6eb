/**
 * The user records port (part of the MetadataStore): users as of their last interactive sign-in.
 * zot keeps the same record: an API key carries the groups its owner had when they last signed in
 * through the browser, not when the key was made. SQLite implementation: `meta/sqlite/auth-users.ts`.
 */
/** A user's record as stored: `berth migrate` carries it. */
export interface UserRecord {
  readonly username: string;
  readonly groups: readonly string[];
  readonly signedInAt: Date;
}

export interface UserStore {
  /** Records an interactive sign-in and the groups the identity provider asserted. */
  recordSignIn(username: string, groups: readonly string[], at: Date): Promise<void>;
  /** The groups of `username`'s last interactive sign-in; undefined when they never signed in. */
  groupsOf(username: string): Promise<string[] | undefined>;
  /** Every user's record: `berth migrate`. */
  exportAll(): Promise<UserRecord[]>;
  /**
   * Writes exported records idempotently: a user missing here, or whose sign-in here is older,
   * takes the given record; a later sign-in here is kept. Resolves with how many were written.
   */
  restore(users: readonly UserRecord[]): Promise<number>;
}
