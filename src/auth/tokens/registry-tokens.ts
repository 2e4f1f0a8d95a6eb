/**
 * Registry bearer tokens, as Docker Hub, GHCR and Harbor issue them: short-lived JWTs (HS256 under a
 * secret kept in the metadata database) naming who asked and which repositories and actions they
 * were granted. A token is a narrowing of its holder's rights, never a widening: every request is
 * still checked against the policy, and tokens minted from an API key die with the key.
 */
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AuthMethod, Identity, TokenAccess } from '../identity.js';
import type { Action } from '../authz/actions.js';
import type { SigningKey } from '../store/signing-keys.js';
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
  readonly key: SigningKey;
  /** The `service` of the challenge, and the tokens' audience. */
  readonly service: string;
  /** Token lifetime. Default 900 s. */
  readonly ttlSeconds?: number;
}

const ISSUER = 'berth';
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

export class RegistryTokens {
  readonly service: string;
  readonly ttlSeconds: number;
  readonly #key: SigningKey;

  constructor(options: RegistryTokenOptions) {
    this.#key = options.key;
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

  /**
   * The identity a token carries, or undefined for anything that is not a valid, unexpired token
   * of this registry (bad signature, other key, other audience, malformed claims).
   */
  async verify(token: string, now: Date): Promise<VerifiedToken | undefined> {
    let payload: Record<string, unknown>;
    try {
      const result = await jwtVerify(token, this.#key.secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: this.service,
        currentDate: now,
        clockTolerance: 30,
        requiredClaims: ['exp', 'iat'],
      });
      if (result.protectedHeader.kid !== this.#key.id) return undefined;
      payload = result.payload;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
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
