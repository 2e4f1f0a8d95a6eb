/**
 * zot's `http.ratelimit`: a token bucket of `rate` requests per second for every request, and one
 * per listed method. Over the limit, the answer is 429 TOOMANYREQUESTS with Retry-After.
 */
export interface RateLimitConfig {
  rate?: number | undefined;
  methods?: readonly { method: string; rate: number }[] | undefined;
}

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly now: () => number,
  ) {
    this.tokens = rate;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    // A burst of one second's worth, refilled continuously.
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type RateLimiter = (method: string) => boolean;

/** Returns a function that says whether a request may proceed, or undefined when nothing is limited. */
export function createRateLimiter(
  config: RateLimitConfig | undefined,
  now: () => number = Date.now,
): RateLimiter | undefined {
  if (!config || (!config.rate && !config.methods?.length)) return undefined;
  const global = config.rate ? new TokenBucket(config.rate, now) : undefined;
  const perMethod = new Map(
    (config.methods ?? []).map((m) => [m.method.toUpperCase(), new TokenBucket(m.rate, now)]),
  );
  return (method) => {
    const bucket = perMethod.get(method.toUpperCase());
    if (bucket && !bucket.take()) return false;
    return global ? global.take() : true;
  };
}
