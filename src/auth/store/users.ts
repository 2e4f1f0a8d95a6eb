/**
 * The user records port (part of the MetadataStore): users as of their last interactive sign-in.
 * zot keeps the same record: an API key carries the groups its owner had when they last signed in
 * through the browser, not when the key was made. SQLite implementation: `meta/sqlite/auth-users.ts`.
 */
export interface UserStore {
  /** Records an interactive sign-in and the groups the identity provider asserted. */
  recordSignIn(username: string, groups: readonly string[], at: Date): Promise<void>;
  /** The groups of `username`'s last interactive sign-in; undefined when they never signed in. */
  groupsOf(username: string): Promise<string[] | undefined>;
}
