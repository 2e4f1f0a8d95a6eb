/**
 * Throttling on leaky buckets that every replica shares (`meta/throttle-buckets.ts`): the
 * password-guessing throttles (per client address, per user name), the OIDC sign-in start
 * throttle, and `http.ratelimit`. Each attempt takes one unit from its key's bucket *before* the
 * work it guards (a bcrypt check, a sign-in record); the bucket drains continuously at
 * `maxAttempts` per `windowMs`. So a burst of `maxAttempts` is let through and then the key is
 * limited; it may try again once one unit has drained (`windowMs / maxAttempts`): a brute-force
 * attack is held to `maxAttempts` guesses per window, however many replicas it spreads them over
 * and however many it sends at once (the take is atomic in the store, so concurrent guesses cannot
 * all slip past a check made before any of them was counted). An attempt that turns out not to
 * count (a right password, a check that never ran) is given back.
 *
 * The only state in this process is a cache of refusals: once the store said a key is limited for
 * N ms, this process refuses it for those N ms without asking again. That can only make a refusal
 * last slightly longer (if another replica reset the key meanwhile), never let an attempt through
 * the store did not count; and a flood of refused attempts costs no database round trip.
 */
import { createHash } from 'node:crypto';
import type { BucketRule, ThrottleBuckets } from '../../meta/throttle-buckets.js';

/** Keys are client text (user names): long ones are stored as their hash, so a row stays small. */
const MAX_STORED_KEY = 128;

export interface ThrottleOptions {
  /** Names the throttle's keys in the shared store (`pw-addr`, `pw-user`, `oidc-start`, …). */
  readonly name: string;
  /** Attempts a key may make in a burst. Default 10. */
  readonly maxAttempts?: number;
  /** Time in which a full bucket drains back to empty, in milliseconds. Default 60 000. */
  readonly windowMs?: number;
  /** Most refusals remembered in this process. Default 10 000. */
  readonly maxCachedRefusals?: number;
  /** Clock in milliseconds; tests inject their own. Default `Date.now`. */
  readonly now?: () => number;
}

export class SharedThrottle {
  readonly #buckets: ThrottleBuckets;
  readonly #prefix: string;
  readonly #rule: BucketRule;
  readonly #maxCached: number;
  readonly #now: () => number;
  /** Key → until when the store said it is limited. Insertion order is age order. */
  readonly #refusedUntil = new Map<string, number>();

  constructor(buckets: ThrottleBuckets, options: ThrottleOptions) {
    const maxAttempts = options.maxAttempts ?? 10;
    const windowMs = options.windowMs ?? 60_000;
    this.#maxCached = options.maxCachedRefusals ?? 10_000;
    if (!(maxAttempts >= 1) || !(windowMs > 0) || !(this.#maxCached >= 1) || options.name === '') {
      throw new RangeError(
        'throttle needs a name, maxAttempts >= 1, windowMs > 0 and maxCachedRefusals >= 1',
      );
    }
    this.#buckets = buckets;
    this.#prefix = `${options.name}:`;
    this.#rule = { capacity: maxAttempts, drainPerMs: maxAttempts / windowMs };
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts one attempt by `key`. Returns 0 when it may go ahead (and was counted), otherwise the
   * milliseconds until it may try again (for `Retry-After`; nothing was counted).
   */
  async attempt(key: string): Promise<number> {
    const now = this.#now();
    const until = this.#refusedUntil.get(key);
    if (until !== undefined) {
      if (until > now) return until - now;
      this.#refusedUntil.delete(key);
    }
    const wait = await this.#buckets.take(this.#stored(key), this.#rule, now);
    if (wait > 0) {
      this.#refusedUntil.set(key, now + wait);
      while (this.#refusedUntil.size > this.#maxCached) {
        const oldest = this.#refusedUntil.keys().next();
        if (oldest.done === true) break;
        this.#refusedUntil.delete(oldest.value);
      }
    }
    return wait;
  }

  /** Gives an attempt back: it turned out not to count (a right password, a check that never ran). */
  async refund(key: string): Promise<void> {
    await this.#buckets.giveBack(this.#stored(key), this.#rule, this.#now());
  }

  /**
   * Forgets `key`'s attempts. Call it for the user name that just authenticated; for a client
   * address prefer `refund`, so that one valid account cannot reset an address that is guessing
   * other accounts' passwords.
   */
  async reset(key: string): Promise<void> {
    this.#refusedUntil.delete(key);
    await this.#buckets.clear(this.#stored(key));
  }

  #stored(key: string): string {
    const stored = this.#prefix + key;
    return stored.length <= MAX_STORED_KEY
      ? stored
      : `${this.#prefix}sha256:${createHash('sha256').update(key).digest('hex')}`;
  }

  /** Refusals remembered in this process (tests). */
  get cachedRefusals(): number {
    return this.#refusedUntil.size;
  }
}
