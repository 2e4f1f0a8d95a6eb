/**
 * Registry bearer tokens, as Docker Hub, GHCR and Harbor issue them: short-lived JWTs (HS256 under a
 * secret kept in a 0600 key file or the environment, never the database: `signing-keys.ts`) naming who asked and which repositories and actions they
 * were granted. A token is a narrowing of its holder's rights, never a widening: every request is
 * still checked against the policy, and tokens minted from an API key die with the key.
 */
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AuthMethod, Identity, TokenAccess } from '../identity.js';
import type { Action } from '../authz/actions.js';
import type { SigningKey, SigningKeys } from './signing-keys.js';
import { actionsOfScopeAction, type ScopeEntry } from './scope.js';

/** Who a token is issued to. */
export interface TokenSubject {
  /** Empty for the anonymous caller. */
  readonly username: string;
  /** Groups asserted by the authentication method (not the config's `accessControl.groups`). */
  readonly groups: readonly string[];
  /** How the holder authenticated at the token endpoint. */
  readonly method: Extract<AuthMethod, 'anonymous' | 'htpasswd' | 'apikey'>;
  /** The API key used, so that revoking or expiring it ends its tokens too. */
  readonly keyId?: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresInSeconds: number;
  readonly issuedAt: Date;
}

/** A token that checked out: the identity it carries and where it came from. */
export interface VerifiedToken {
  readonly identity: Identity;
  readonly subject: TokenSubject;
}

export interface RegistryTokenOptions {
  /** Signs new tokens. */
  readonly key: SigningKey;
  /** Still accepted for verification (the keys before a rotation). */
  readonly previous?: readonly SigningKey[];
  /**
   * Called when a token names a key this instance does not know (another process rotated the
   * key file): returns the keys as they are now, or undefined. At most once a second.
   */
  readonly reload?: () => Promise<SigningKeys | undefined>;
  /** The `service` of the challenge, and the tokens' audience. */
  readonly service: string;
  /** Token lifetime. Default 900 s. */
  readonly ttlSeconds?: number;
}

const ISSUER = 'berth';
const CLOCK_TOLERANCE_S = 30;
const METHODS: readonly TokenSubject['method'][] = ['anonymous', 'htpasswd', 'apikey'];

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function toAccess(entries: readonly ScopeEntry[]): TokenAccess {
  const repositories = new Map<string, Set<Action>>();
  let catalog = false;
  for (const entry of entries) {
    if (entry.type === 'registry' && entry.name === 'catalog' && entry.actions.includes('*')) catalog = true;
    if (entry.type !== 'repository') continue;
    const actions = repositories.get(entry.name) ?? new Set<Action>();
    for (const a of entry.actions) actionsOfScopeAction(a).forEach((x) => actions.add(x));
    repositories.set(entry.name, actions);
  }
  return { repositories, catalog };
}

function parseAccessClaim(value: unknown): ScopeEntry[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: ScopeEntry[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { type, name, actions } = item as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string' || !isStringArray(actions)) return undefined;
    out.push({ type, name, actions });
  }
  return out;
}

/** The `kid` of a compact JWS, or undefined when the header is unreadable (garbage is no error). */
function headerKid(token: string): string | undefined {
  try {
    const kid = decodeProtectedHeader(token).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

export class RegistryTokens {
  readonly service: string;
  readonly ttlSeconds: number;
  #key: SigningKey;
  #accepted: Map<string, Uint8Array>;
  readonly #reload: RegistryTokenOptions['reload'];
  #lastReload = 0;

  constructor(options: RegistryTokenOptions) {
    this.#key = options.key;
    this.#accepted = new Map([options.key, ...(options.previous ?? [])].map((k) => [k.id, k.secret]));
    this.#reload = options.reload;
    this.service = options.service;
    this.ttlSeconds = options.ttlSeconds ?? 900;
  }

  /** Signs a token granting `access` to `subject`. */
  async issue(subject: TokenSubject, access: readonly ScopeEntry[], now: Date): Promise<IssuedToken> {
    const iat = Math.floor(now.getTime() / 1000);
    const claims: Record<string, unknown> = {
      access: access.map((e) => ({ type: e.type, name: e.name, actions: [...e.actions] })),
      amr: subject.method,
    };
    if (subject.groups.length > 0) claims.grp = [...subject.groups];
    if (subject.keyId !== undefined) claims.key = subject.keyId;
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: this.#key.id })
      .setIssuer(ISSUER)
      .setAudience(this.service)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .setJti(randomUUID());
    if (subject.username !== '') jwt = jwt.setSubject(subject.username);
    return {
      token: await jwt.sign(this.#key.secret),
      expiresInSeconds: this.ttlSeconds,
      issuedAt: new Date(iat * 1000),
    };
  }

  /** Re-reads the keys (rate-limited) when a token names an unknown key id. */
  async #reloadFor(kid: string, now: Date): Promise<Uint8Array | undefined> {
    if (this.#reload === undefined || now.getTime() - this.#lastReload < 1_000) return undefined;
    this.#lastReload = now.getTime();
    const keys = await this.#reload().catch(() => undefined);
    if (keys === undefined) return undefined;
    this.#key = keys.current;
    this.#accepted = new Map([keys.current, ...keys.previous].map((k) => [k.id, k.secret]));
    return this.#accepted.get(kid);
  }

  /**
   * The identity a token carries, or undefined for anything that is not a valid, unexpired token
   * of this registry (bad signature, other key, other audience, malformed claims).
   */
  async verify(token: string, now: Date): Promise<VerifiedToken | undefined> {
    let payload: Record<string, unknown>;
    try {
      const kid = headerKid(token);
      if (kid === undefined) return undefined;
      const secret = this.#accepted.get(kid) ?? (await this.#reloadFor(kid, now));
      if (secret === undefined) return undefined;
      const result = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: this.service,
        currentDate: now,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'iat'],
      });
      payload = result.payload;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
    // Berth never issues a token living longer than its ttl: a longer one was not minted by this
    // registry's token endpoint (a leaked secret, or a key from a backup), so it is refused.
    const { exp, iat } = payload as { exp: number; iat: number };
    const nowS = now.getTime() / 1000;
    if (exp - iat > this.ttlSeconds || exp > nowS + this.ttlSeconds + CLOCK_TOLERANCE_S) return undefined;
    const access = parseAccessClaim(payload.access);
    const method = payload.amr;
    const username = payload.sub ?? '';
    const groups = payload.grp ?? [];
    const keyId = payload.key;
    if (
      access === undefined ||
      typeof method !== 'string' ||
      !(METHODS as readonly string[]).includes(method) ||
      typeof username !== 'string' ||
      !isStringArray(groups) ||
      (keyId !== undefined && typeof keyId !== 'string')
    ) {
      return undefined;
    }
    const anonymous = method === 'anonymous' || username === '';
    const subject: TokenSubject = {
      username: anonymous ? '' : username,
      groups: anonymous ? [] : groups,
      method: anonymous ? 'anonymous' : (method as TokenSubject['method']),
      ...(typeof keyId === 'string' ? { keyId } : {}),
    };
    const identity: Identity = {
      username: subject.username,
      groups: subject.groups,
      method: anonymous ? 'anonymous' : 'token',
      tokenAccess: toAccess(access),
    };
    return { identity, subject };
  }
}
