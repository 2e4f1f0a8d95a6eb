import type { Db } from '../database.js';
import { sha256Hex } from '../../auth/store/hash.js';
import type { LoginState, LoginStateStore } from '../../auth/store/login-states.js';

/** At most this many sign-ins may be pending at once; new ones are refused beyond it. */
const MAX_PENDING = 10_000;

/**
 * OIDC sign-ins in progress, keyed by the SHA-256 of their `state`. Stored in the database rather
 * than in memory so that a restart between the redirect and the callback does not fail the
 * sign-in. Each state is single-use: taking it deletes it.
 */
export class SqliteLoginStates implements LoginStateStore {
  readonly #insert;
  readonly #take;
  readonly #delete;
  readonly #purge;
  readonly #count;

  constructor(db: Db) {
    this.#insert = db.prepare(
      'INSERT INTO auth_login_states (state_hash, provider, code_verifier, nonce, callback, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#take = db.prepare(
      'SELECT provider, code_verifier, nonce, callback, expires_at FROM auth_login_states WHERE state_hash = ?',
    );
    this.#delete = db.prepare('DELETE FROM auth_login_states WHERE state_hash = ?');
    this.#purge = db.prepare('DELETE FROM auth_login_states WHERE expires_at <= ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM auth_login_states');
  }

  async save(state: string, login: LoginState, expiresAt: Date, now: Date): Promise<boolean> {
    this.#purge.run(now.getTime());
    if ((this.#count.get() as { n: number }).n >= MAX_PENDING) return false;
    this.#insert.run(
      sha256Hex(state),
      login.provider,
      login.codeVerifier,
      login.nonce,
      login.callback,
      expiresAt.getTime(),
    );
    return true;
  }

  /** Removes and returns the sign-in `state` stands for, unless it is unknown or expired. */
  async take(state: string, now: Date): Promise<LoginState | undefined> {
    const hash = sha256Hex(state);
    const row = this.#take.get(hash) as
      | { provider: string; code_verifier: string; nonce: string; callback: string; expires_at: number }
      | undefined;
    if (row === undefined) return undefined;
    this.#delete.run(hash);
    if (row.expires_at <= now.getTime()) return undefined;
    return {
      provider: row.provider,
      codeVerifier: row.code_verifier,
      nonce: row.nonce,
      callback: row.callback,
    };
  }
}
