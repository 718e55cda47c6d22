/** What the limiter says about one request; the values feed the X-RateLimit-* headers. */
export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch seconds when the bucket will be full again. */
  resetSec: number;
  /** Whole seconds until one token is available (0 when allowed). */
  retryAfterSec: number;
}

/** The nominal budget reported when no client limit is configured. */
const UNLIMITED = 1_000_000;

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Per-client token buckets: each client holds up to `capacity` tokens, refilled continuously at
 * `refillPerSecond`; a request takes one token or is rejected. Without a configured limit every
 * request is allowed and the headers report a nominal budget of 1,000,000.
 */
export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private limit: { capacity: number; refillPerSecond: number } | null = null;

  configure(limit: { capacity: number; refillPerSecond: number } | null): void {
    this.limit = limit;
    this.buckets.clear();
  }

  take(client: string, nowMs: number): RateLimitVerdict {
    const limit = this.limit;
    if (limit === null) {
      return {
        allowed: true,
        limit: UNLIMITED,
        remaining: UNLIMITED - 1,
        resetSec: Math.ceil(nowMs / 1000),
        retryAfterSec: 0,
      };
    }
    const bucket = this.buckets.get(client) ?? { tokens: limit.capacity, atMs: nowMs };
    bucket.tokens = Math.min(
      limit.capacity,
      bucket.tokens + ((nowMs - bucket.atMs) / 1000) * limit.refillPerSecond,
    );
    bucket.atMs = nowMs;
    this.buckets.set(client, bucket);
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const missing = limit.capacity - bucket.tokens;
    return {
      allowed,
      limit: limit.capacity,
      remaining: Math.floor(bucket.tokens),
      resetSec: Math.ceil((nowMs + (missing / limit.refillPerSecond) * 1000) / 1000),
      retryAfterSec: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / limit.refillPerSecond)),
    };
  }
}

/** The `X-RateLimit-*` headers of a verdict, sent with every answer of a limited API. */
export function rateLimitHeaders(verdict: RateLimitVerdict): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(verdict.limit),
    'X-RateLimit-Remaining': String(verdict.remaining),
    'X-RateLimit-Reset': String(verdict.resetSec),
  };
}
