/**
 * Failed-authentication throttling: a leaky bucket per key (a client address, a user name). Each
 * failure adds one to the key's level; the level drains continuously at `maxFailures` per `windowMs`;
 * a key is limited while one more failure would take its level above `maxFailures`. So a burst of
 * `maxFailures` failures is let through and then locks the key; it may try again once one failure's
 * worth has drained (`windowMs / maxFailures`), and so on: a brute-force attack is held to
 * `maxFailures` guesses per window.
 *
 * Memory is bounded: at most `maxKeys` keys are tracked; beyond that the least recently failed key is
 * forgotten. Keys that have drained empty are dropped as they are met.
 */

export interface ThrottleOptions {
  /** Failures a key may accumulate before it is limited. Default 10. */
  readonly maxFailures?: number;
  /** Time in which a full bucket drains back to empty, in milliseconds. Default 60 000. */
  readonly windowMs?: number;
  /** Most keys tracked at once. Default 10 000. */
  readonly maxKeys?: number;
  /** Clock in milliseconds; tests inject their own. Default `Date.now`. */
  readonly now?: () => number;
}

interface Bucket {
  level: number;
  at: number;
}

export class FailureThrottle {
  readonly #maxFailures: number;
  readonly #drainPerMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Insertion order is recency order: a key is re-inserted at every failure. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: ThrottleOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 10;
    const windowMs = options.windowMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#now = options.now ?? Date.now;
    if (!(this.#maxFailures >= 1) || !(windowMs > 0) || !(this.#maxKeys >= 1)) {
      throw new RangeError('throttle needs maxFailures >= 1, windowMs > 0 and maxKeys >= 1');
    }
    this.#drainPerMs = this.#maxFailures / windowMs;
  }

  /** Whether `key` has failed too often lately: refuse its attempt without checking credentials. */
  isLimited(key: string): boolean {
    return this.#levelNow(key) > this.#maxFailures - 1;
  }

  /**
   * Milliseconds until `key` may try again (0 when it is not limited), for a `Retry-After` header.
   */
  retryAfterMs(key: string): number {
    const excess = this.#levelNow(key) - (this.#maxFailures - 1);
    return excess <= 0 ? 0 : Math.ceil(excess / this.#drainPerMs);
  }

  recordFailure(key: string): void {
    const level = this.#levelNow(key) + 1;
    this.#buckets.delete(key);
    this.#buckets.set(key, { level, at: this.#now() });
    while (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done === true) break;
      this.#buckets.delete(oldest.value);
    }
  }

  /**
   * Forgets `key`'s failures. Call it for the user name that just authenticated; for a client address
   * prefer letting failures drain, so that one valid account cannot reset an address that is guessing
   * other accounts' passwords.
   */
  recordSuccess(key: string): void {
    this.#buckets.delete(key);
  }

  /** Number of keys currently tracked (for metrics and tests). */
  get size(): number {
    return this.#buckets.size;
  }

  #levelNow(key: string): number {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return 0;
    const elapsed = Math.max(0, this.#now() - bucket.at);
    const level = bucket.level - elapsed * this.#drainPerMs;
    if (level <= 0) {
      this.#buckets.delete(key);
      return 0;
    }
    return level;
  }
}
