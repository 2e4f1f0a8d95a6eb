/**
 * Turns presented credentials into an identity: Basic credentials (an htpasswd password, or an API
 * key as the password with its owner's user name), registry bearer tokens, and browser session ids.
 * No HTTP here; `http/access.ts` reads the request and maps the verdicts to statuses.
 *
 * Throttling (see docs/security.md): only password guesses are throttled, per client address and
 * per user name, in buckets every replica shares; each guess is counted before bcrypt runs and
 * given back if it was right. API keys and tokens are 128 and 256 bits of
 * randomness: guessing them is hopeless, so they are never throttled, and an attacker hammering a
 * user name with wrong passwords cannot lock that user's API keys out. With no htpasswd file there
 * is no password to guess, so password attempts are refused without being counted.
 */
import type { HtpasswdFile } from './authn/htpasswd.js';
import type { UserOriginStore } from '../meta/user-origins.js';
import { isApiKeyExpired, looksLikeApiKey } from './authn/api-keys.js';
import type { SharedThrottle } from './authn/throttle.js';
import type { Identity } from './identity.js';
import type { ApiKeyGroups } from '../meta/api-key-groups.js';
import type { ApiKeyStore } from './store/api-keys.js';
import type { SessionStore } from './store/sessions.js';
import type { UserStore } from './store/users.js';
import type { RegistryTokens, TokenSubject } from './tokens/registry-tokens.js';

export type Verdict =
  | {
      readonly ok: true;
      readonly identity: Identity;
      /** What a registry token issued to this caller should name (token endpoint). */
      readonly subject: TokenSubject;
    }
  | { readonly ok: false; readonly reason: 'invalid'; readonly method: 'password' | 'apikey' | 'token' }
  | { readonly ok: false; readonly reason: 'throttled'; readonly retryAfterMs: number };

export interface AuthenticatorOptions {
  /** Absent when `http.auth.htpasswd` is not configured. */
  readonly htpasswd?: HtpasswdFile | undefined;
  /** Absent when API keys are off. */
  readonly apiKeys?: ApiKeyStore | undefined;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly tokens: RegistryTokens;
  /** Password attempts per client address (shared by every replica). */
  readonly addressThrottle: SharedThrottle;
  /** Password attempts per user name (shared by every replica). */
  readonly userThrottle: SharedThrottle;
  /** Groups an admin gave service-account keys (`berth keys create --groups`). */
  readonly keyGroups?: ApiKeyGroups | undefined;
  readonly now?: () => Date;
  /** Where each user signs in from, so that leaving the htpasswd file offboards password users. */
  readonly origins?: UserOriginStore | undefined;
  /** How often an API key's `lastUsed` is written at most. Default 60 000 ms. */
  readonly lastUsedResolutionMs?: number;
}

const MAX_REMEMBERED_USES = 10_000;

export class Authenticator {
  readonly #o: AuthenticatorOptions;
  readonly #now: () => Date;
  readonly #resolution: number;
  /** Key id → when its `lastUsed` was last written: a push is dozens of requests, not dozens of writes. */
  readonly #lastWritten = new Map<string, number>();

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#resolution = options.lastUsedResolutionMs ?? 60_000;
  }

  /** Checks Basic credentials; `clientAddress` keys the per-address throttle. */
  async checkBasic(username: string, password: string, clientAddress: string): Promise<Verdict> {
    if (looksLikeApiKey(password)) return await this.#checkApiKey(username, password);
    const { htpasswd, addressThrottle, userThrottle } = this.#o;
    if (htpasswd === undefined) return { ok: false, reason: 'invalid', method: 'password' };
    // Counted before bcrypt, atomically in the shared store: guesses sent at once, or spread over
    // replicas, cannot all pass a check made before any of them was counted.
    const addressWait = await addressThrottle.attempt(clientAddress);
    if (addressWait > 0) return { ok: false, reason: 'throttled', retryAfterMs: addressWait };
    const userWait = await userThrottle.attempt(username);
    if (userWait > 0) {
      await addressThrottle.refund(clientAddress);
      return { ok: false, reason: 'throttled', retryAfterMs: userWait };
    }
    const outcome = await htpasswd.check(username, password);
    if (outcome === 'busy') {
      // The bcrypt threads are saturated (a flood of guesses): try again shortly, nothing counted.
      await Promise.all([addressThrottle.refund(clientAddress), userThrottle.refund(username)]);
      return { ok: false, reason: 'throttled', retryAfterMs: 1_000 };
    }
    if (outcome === 'wrong') return { ok: false, reason: 'invalid', method: 'password' };
    // A right password does not count; the user's guesses are forgotten, the address's drain (so
    // that one valid account cannot reset an address that is guessing other accounts).
    await Promise.all([userThrottle.reset(username), addressThrottle.refund(clientAddress)]);
    await this.#o.origins?.record(username, 'htpasswd', this.#now());
    return {
      ok: true,
      identity: { username, groups: [], method: 'htpasswd' },
      subject: { username, groups: [], method: 'htpasswd' },
    };
  }

  async #checkApiKey(username: string, key: string): Promise<Verdict> {
    const { apiKeys, users } = this.#o;
    const now = this.#now();
    const record = await apiKeys?.findByKey(key);
    if (
      record === undefined ||
      record.owner !== username ||
      isApiKeyExpired(record.expiresAt, now) ||
      (await this.#offboarded(record.owner))
    ) {
      return { ok: false, reason: 'invalid', method: 'apikey' };
    }
    await this.#recordUse(record.id, now);
    const granted = (await this.#o.keyGroups?.groupsOf(record.id)) ?? [];
    const groups = [...new Set([...((await users.groupsOf(username)) ?? []), ...granted])];
    return {
      ok: true,
      identity: { username, groups, method: 'apikey' },
      subject: { username, groups, method: 'apikey', keyId: record.id },
    };
  }

  /** Records how `username` just signed in interactively (a password, or an OIDC provider). */
  async recordOrigin(username: string, provider: string | undefined): Promise<void> {
    await this.#o.origins?.record(
      username,
      provider === undefined ? 'htpasswd' : `oidc:${provider}`,
      this.#now(),
    );
  }

  /**
   * Whether `owner` signed in with a password and has since left the htpasswd file: then their API
   * keys and the tokens minted with them are refused, until the owner is restored. OIDC users are
   * never in the file and are not affected (see docs/security.md, offboarding).
   */
  async #offboarded(owner: string): Promise<boolean> {
    const { htpasswd, origins } = this.#o;
    if (htpasswd === undefined || htpasswd.has(owner) || origins === undefined) return false;
    return (await origins.originOf(owner)) === 'htpasswd';
  }

  async #recordUse(id: string, now: Date): Promise<void> {
    const last = this.#lastWritten.get(id);
    if (last !== undefined && now.getTime() - last < this.#resolution) return;
    if (this.#lastWritten.size >= MAX_REMEMBERED_USES) this.#lastWritten.clear();
    this.#lastWritten.set(id, now.getTime());
    await this.#o.apiKeys?.recordUse(id, now);
  }

  /**
   * Checks a registry bearer token. Beyond the signature and expiry, a token minted with an API key
   * is only good while that key exists and is unexpired, and one minted with a password only while
   * the user is still in the htpasswd file: revoking access takes effect at once, not at expiry.
   */
  async checkBearer(token: string): Promise<Verdict> {
    const now = this.#now();
    const verified = await this.#o.tokens.verify(token, now);
    if (verified === undefined) return { ok: false, reason: 'invalid', method: 'token' };
    const { subject } = verified;
    if (subject.method === 'apikey') {
      const record = subject.keyId === undefined ? undefined : await this.#o.apiKeys?.findById(subject.keyId);
      if (
        record === undefined ||
        record.owner !== subject.username ||
        isApiKeyExpired(record.expiresAt, now) ||
        (await this.#offboarded(record.owner))
      ) {
        return { ok: false, reason: 'invalid', method: 'token' };
      }
      await this.#recordUse(record.id, now);
    } else if (subject.method === 'htpasswd' && this.#o.htpasswd?.has(subject.username) !== true) {
      return { ok: false, reason: 'invalid', method: 'token' };
    }
    return { ok: true, identity: verified.identity, subject };
  }

  /**
   * The identity of a live browser session: its user with the groups of their last interactive
   * sign-in, re-read on every request. Undefined for an unknown or expired session, or one whose
   * user record is gone.
   */
  async checkSession(sessionId: string): Promise<Identity | undefined> {
    const session = await this.#o.sessions.find(sessionId, this.#now());
    if (session === undefined) return undefined;
    // A password sign-in's session lasts only while its user is in the htpasswd file (kept, not
    // deleted: it works again if the user is restored before it expires).
    const { htpasswd } = this.#o;
    if (session.provider === undefined && htpasswd !== undefined && !htpasswd.has(session.username))
      return undefined;
    const groups = await this.#o.users.groupsOf(session.username);
    if (groups === undefined) return undefined;
    return { username: session.username, groups, method: 'session' };
  }
}
