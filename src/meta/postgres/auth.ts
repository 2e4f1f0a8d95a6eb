/**
 * The auth records on PostgreSQL: API keys, browser sessions, users and OIDC sign-ins in progress,
 * shared by every replica, so that a sign-in or a key made through one works on all. As in SQLite,
 * secrets are stored only as SHA-256 hashes (API keys, session ids, sign-in states).
 */
import { generateApiKey, hashApiKey } from '../../auth/authn/api-keys.js';
import type { ApiKeyRecord, ApiKeyStore, NewApiKey, StoredApiKey } from '../../auth/store/api-keys.js';
import { randomSecret, sha256Hex } from '../../auth/store/hash.js';
import type { LoginState, LoginStateStore } from '../../auth/store/login-states.js';
import type { SessionRecord, SessionStore } from '../../auth/store/sessions.js';
import type { UserRecord, UserStore } from '../../auth/store/users.js';
import { transaction, type Migrations, type Pool } from './database.js';

export const AUTH_MIGRATIONS: Migrations = {
  module: 'auth',
  steps: [
    `CREATE TABLE auth_users (
       username TEXT PRIMARY KEY,
       groups TEXT NOT NULL DEFAULT '[]',
       signed_in_at BIGINT NOT NULL
     );
     CREATE TABLE auth_api_keys (
       id TEXT PRIMARY KEY,
       hash TEXT NOT NULL UNIQUE,
       owner TEXT NOT NULL,
       label TEXT NOT NULL,
       scopes TEXT,
       creator_ua TEXT NOT NULL,
       created_at BIGINT NOT NULL,
       expires_at BIGINT,
       last_used_at BIGINT
     );
     CREATE INDEX auth_api_keys_owner ON auth_api_keys (owner);
     CREATE TABLE auth_sessions (
       id_hash TEXT PRIMARY KEY,
       username TEXT NOT NULL,
       provider TEXT,
       created_at BIGINT NOT NULL,
       expires_at BIGINT NOT NULL
     );
     CREATE INDEX auth_sessions_expiry ON auth_sessions (expires_at);
     CREATE TABLE auth_login_states (
       state_hash TEXT PRIMARY KEY,
       provider TEXT NOT NULL,
       code_verifier TEXT NOT NULL,
       nonce TEXT NOT NULL,
       callback TEXT NOT NULL,
       expires_at BIGINT NOT NULL
     );
     CREATE INDEX auth_login_states_expiry ON auth_login_states (expires_at);`,
  ],
};

interface ApiKeyRow {
  id: string;
  owner: string;
  label: string;
  scopes: string | null;
  creator_ua: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

function toApiKey(row: ApiKeyRow): ApiKeyRecord {
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

const KEY_COLUMNS = 'id, owner, label, scopes, creator_ua, created_at, expires_at, last_used_at';

export class PostgresApiKeys implements ApiKeyStore {
  constructor(private readonly pool: Pool) {}

  async create(input: NewApiKey): Promise<{ record: ApiKeyRecord; key: string }> {
    const generated = generateApiKey();
    const { rows } = await this.pool.query<ApiKeyRow>(
      `INSERT INTO auth_api_keys (id, hash, owner, label, scopes, creator_ua, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${KEY_COLUMNS}`,
      [
        generated.id,
        generated.hash,
        input.owner,
        input.label,
        input.scopes === null ? null : JSON.stringify(input.scopes),
        input.creatorUa,
        input.now.getTime(),
        input.expiresAt?.getTime() ?? null,
      ],
    );
    return { record: toApiKey(rows[0]!), key: generated.key };
  }

  async findByKey(key: string): Promise<ApiKeyRecord | undefined> {
    const hash = hashApiKey(key);
    if (hash === undefined) return undefined;
    const { rows } = await this.pool.query<ApiKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM auth_api_keys WHERE hash = $1`,
      [hash],
    );
    return rows[0] && toApiKey(rows[0]);
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM auth_api_keys WHERE id = $1`,
      [id],
    );
    return rows[0] && toApiKey(rows[0]);
  }

  async listByOwner(owner: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM auth_api_keys WHERE owner = $1 ORDER BY created_at, id`,
      [owner],
    );
    return rows.map(toApiKey);
  }

  async revoke(owner: string, id: string): Promise<boolean> {
    return (
      (await this.pool.query('DELETE FROM auth_api_keys WHERE owner = $1 AND id = $2', [owner, id]))
        .rowCount! > 0
    );
  }

  async recordUse(id: string, at: Date): Promise<void> {
    await this.pool.query('UPDATE auth_api_keys SET last_used_at = $2 WHERE id = $1', [id, at.getTime()]);
  }

  async exportAll(): Promise<StoredApiKey[]> {
    const { rows } = await this.pool.query<ApiKeyRow & { hash: string }>(
      `SELECT ${KEY_COLUMNS}, hash FROM auth_api_keys ORDER BY created_at, id COLLATE "C"`,
    );
    return rows.map((row) => ({ ...toApiKey(row), hash: row.hash }));
  }

  /** One statement for the whole batch; GREATEST ignores a NULL, so the later last use is kept. */
  async restore(keys: readonly StoredApiKey[]): Promise<number> {
    if (keys.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `INSERT INTO auth_api_keys AS k (id, hash, owner, label, scopes, creator_ua, created_at, expires_at, last_used_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                            $7::bigint[], $8::bigint[], $9::bigint[])
       ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, owner = excluded.owner, label = excluded.label,
         scopes = excluded.scopes, creator_ua = excluded.creator_ua, created_at = excluded.created_at,
         expires_at = excluded.expires_at, last_used_at = GREATEST(k.last_used_at, excluded.last_used_at)
       WHERE (k.hash, k.owner, k.label, k.scopes, k.creator_ua, k.created_at, k.expires_at)
             IS DISTINCT FROM (excluded.hash, excluded.owner, excluded.label, excluded.scopes,
                               excluded.creator_ua, excluded.created_at, excluded.expires_at)
          OR excluded.last_used_at > COALESCE(k.last_used_at, -1)`,
      [
        keys.map((k) => k.id),
        keys.map((k) => k.hash),
        keys.map((k) => k.owner),
        keys.map((k) => k.label),
        keys.map((k) => (k.scopes === null ? null : JSON.stringify(k.scopes))),
        keys.map((k) => k.creatorUa),
        keys.map((k) => k.createdAt.getTime()),
        keys.map((k) => k.expiresAt?.getTime() ?? null),
        keys.map((k) => k.lastUsedAt?.getTime() ?? null),
      ],
    );
    return rowCount ?? 0;
  }
}

export class PostgresSessions implements SessionStore {
  constructor(private readonly pool: Pool) {}

  async create(
    username: string,
    provider: string | undefined,
    now: Date,
    ttlMs: number,
  ): Promise<{ id: string; record: SessionRecord }> {
    const id = randomSecret();
    const expiresAt = new Date(now.getTime() + ttlMs);
    await this.pool.query(
      'INSERT INTO auth_sessions (id_hash, username, provider, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [sha256Hex(id), username, provider ?? null, now.getTime(), expiresAt.getTime()],
    );
    return { id, record: { username, provider, createdAt: now, expiresAt } };
  }

  async find(id: string, now: Date): Promise<SessionRecord | undefined> {
    const hash = sha256Hex(id);
    const { rows } = await this.pool.query<{
      username: string;
      provider: string | null;
      created_at: number;
      expires_at: number;
    }>('SELECT username, provider, created_at, expires_at FROM auth_sessions WHERE id_hash = $1', [hash]);
    const row = rows[0];
    if (row === undefined) return undefined;
    if (row.expires_at <= now.getTime()) {
      await this.pool.query('DELETE FROM auth_sessions WHERE id_hash = $1', [hash]);
      return undefined;
    }
    return {
      username: row.username,
      provider: row.provider ?? undefined,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    };
  }

  async delete(id: string): Promise<void> {
    await this.pool.query('DELETE FROM auth_sessions WHERE id_hash = $1', [sha256Hex(id)]);
  }

  async purgeExpired(now: Date): Promise<number> {
    return (
      (await this.pool.query('DELETE FROM auth_sessions WHERE expires_at <= $1', [now.getTime()])).rowCount ??
      0
    );
  }
}

export class PostgresUsers implements UserStore {
  constructor(private readonly pool: Pool) {}

  async recordSignIn(username: string, groups: readonly string[], at: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO auth_users (username, groups, signed_in_at) VALUES ($1, $2, $3)
       ON CONFLICT (username) DO UPDATE SET groups = excluded.groups, signed_in_at = excluded.signed_in_at`,
      [username, JSON.stringify([...groups]), at.getTime()],
    );
  }

  async groupsOf(username: string): Promise<string[] | undefined> {
    const { rows } = await this.pool.query<{ groups: string }>(
      'SELECT groups FROM auth_users WHERE username = $1',
      [username],
    );
    return rows[0] === undefined ? undefined : parseGroups(rows[0].groups);
  }

  async exportAll(): Promise<UserRecord[]> {
    const { rows } = await this.pool.query<{ username: string; groups: string; signed_in_at: number }>(
      'SELECT username, groups, signed_in_at FROM auth_users ORDER BY username COLLATE "C"',
    );
    return rows.map((row) => ({
      username: row.username,
      groups: parseGroups(row.groups),
      signedInAt: new Date(row.signed_in_at),
    }));
  }

  async restore(users: readonly UserRecord[]): Promise<number> {
    if (users.length === 0) return 0;
    return transaction(this.pool, async (db) => {
      const { rowCount } = await db.query(
        `INSERT INTO auth_users AS u (username, groups, signed_in_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT (username) DO UPDATE SET groups = excluded.groups, signed_in_at = excluded.signed_in_at
         WHERE excluded.signed_in_at > u.signed_in_at`,
        [
          users.map((u) => u.username),
          users.map((u) => JSON.stringify([...u.groups])),
          users.map((u) => u.signedInAt.getTime()),
        ],
      );
      return rowCount ?? 0;
    });
  }
}

function parseGroups(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string') : [];
}

/** At most this many sign-ins may be pending at once; the oldest are dropped beyond it. */
const MAX_PENDING = 10_000;

export class PostgresLoginStates implements LoginStateStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Refuses a new sign-in (false) while MAX_PENDING are pending, as the SQLite store does: a flood
   * of started sign-ins must not push out the ones people are in the middle of. The count and the
   * insert are one statement, so replicas cannot overshoot together by much.
   */
  async save(state: string, login: LoginState, expiresAt: Date, now: Date): Promise<boolean> {
    await this.pool.query('DELETE FROM auth_login_states WHERE expires_at <= $1', [now.getTime()]);
    const { rowCount } = await this.pool.query(
      `INSERT INTO auth_login_states (state_hash, provider, code_verifier, nonce, callback, expires_at)
       SELECT $1, $2, $3, $4, $5, $6
       WHERE (SELECT count(*) FROM auth_login_states) < $7`,
      [
        sha256Hex(state),
        login.provider,
        login.codeVerifier,
        login.nonce,
        login.callback,
        expiresAt.getTime(),
        MAX_PENDING,
      ],
    );
    return rowCount === 1;
  }

  /** Deleting and reading are one statement: of two replicas handed the same state, one gets it. */
  async take(state: string, now: Date): Promise<LoginState | undefined> {
    const { rows } = await this.pool.query<{
      provider: string;
      code_verifier: string;
      nonce: string;
      callback: string;
      expires_at: number;
    }>(
      'DELETE FROM auth_login_states WHERE state_hash = $1 RETURNING provider, code_verifier, nonce, callback, expires_at',
      [sha256Hex(state)],
    );
    const row = rows[0];
    if (row === undefined || row.expires_at <= now.getTime()) return undefined;
    return {
      provider: row.provider,
      codeVerifier: row.code_verifier,
      nonce: row.nonce,
      callback: row.callback,
    };
  }
}
