/**
 * zot's `http.ratelimit`: a token bucket of `rate` requests per second for every request, and one
 * per listed method. Over the limit, the answer is 429 TOOMANYREQUESTS with Retry-After.
 *
 * Unlike zot, whose buckets are per process, the buckets are in the metadata store and shared by
 * every replica (`auth/authn/throttle.ts`): `rate` is the whole deployment's, however many
 * replicas the load balancer spreads requests over. That costs one write to the metadata store
 * per request while a limit is configured (none by default). A bucket holds a burst of one
 * second's worth and refills continuously.
 */
import { SharedThrottle } from '../auth/authn/throttle.js';
import type { ThrottleBuckets } from '../meta/throttle-buckets.js';

export interface RateLimitConfig {
  rate?: number | undefined;
  methods?: readonly { method: string; rate: number }[] | undefined;
}

/** Resolves to 0 when the request may proceed, otherwise the milliseconds until it may. */
export type RateLimiter = (method: string) => Promise<number>;

/** Returns a function that says whether a request may proceed, or undefined when nothing is limited. */
export function createRateLimiter(
  config: RateLimitConfig | undefined,
  buckets: ThrottleBuckets,
  now: () => number = Date.now,
): RateLimiter | undefined {
  if (!config || (!config.rate && !config.methods?.length)) return undefined;
  const bucket = (name: string, rate: number): SharedThrottle =>
    new SharedThrottle(buckets, { name, maxAttempts: rate, windowMs: 1_000, now });
  const global = config.rate ? bucket('http-rate', config.rate) : undefined;
  const perMethod = new Map(
    (config.methods ?? []).map((m) => {
      const method = m.method.toUpperCase();
      return [method, bucket(`http-rate-${method}`, m.rate)];
    }),
  );
  return async (method) => {
    const upper = method.toUpperCase();
    const own = perMethod.get(upper);
    if (own) {
      const wait = await own.attempt('all');
      if (wait > 0) return wait;
    }
    return global ? await global.attempt('all') : 0;
  };
}
