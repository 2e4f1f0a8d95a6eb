/**
 * The sign-in states port (part of the MetadataStore): OIDC sign-ins in progress, keyed by the
 * SHA-256 of their `state`, shared so that the callback may reach another process (or arrive
 * after a restart). Each state is single-use: taking it deletes it. SQLite implementation:
 * `meta/sqlite/auth-login-states.ts`.
 */

/** What the callback needs to finish an OIDC sign-in the login route started. */
export interface LoginState {
  readonly provider: string;
  readonly codeVerifier: string;
  readonly nonce: string;
  /** Where to send the browser afterwards: already checked to stay on this site. */
  readonly callback: string;
}

export interface LoginStateStore {
  /**
   * Stores a sign-in in progress; false (nothing stored) when the store holds as many pending
   * sign-ins as it takes. New ones are refused rather than older ones dropped: a flood must not
   * cancel a real user's sign-in in progress.
   */
  save(state: string, login: LoginState, expiresAt: Date, now: Date): Promise<boolean>;
  /** Removes and returns the sign-in `state` stands for, unless it is unknown or expired. */
  take(state: string, now: Date): Promise<LoginState | undefined>;
}
