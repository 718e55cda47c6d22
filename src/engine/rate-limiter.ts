import type { RateBudget, RateLimit } from '../core/source.ts';
import type { SharedRateBuckets } from '../core/store.ts';

/**
 * A token bucket for one host, shared by every stream of the process that calls it. It starts from
 * the configured rate and adapts to what the API reports: with `remaining` requests until
 * `resetAtMs`, it spreads them evenly so the budget runs out no sooner than the reset (the API never
 * needs to say 429), and with none left it waits for the reset.
 *
 * With `shared` (a `rateLimit` marked `shared`, on a store that keeps shared buckets), each request
 * also takes a token from the store's bucket of the same key, which every process draws from: the
 * configured rate then holds for the cluster. This bucket still paces the process and learns from
 * the headers the process sees; the request goes once both allow it (the longer of the two waits).
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;
  /** A lower rate learned from the API's headers, in force until `#adaptedUntil`. */
  #adaptedRate = Number.POSITIVE_INFINITY;
  #adaptedUntil = 0;
  /** No request before this time (the API's budget is spent until its reset). */
  #pausedUntil = 0;
  /** Callers waiting, served in order. */
  #queue: Promise<void> = Promise.resolve();
  /** The cluster's bucket of this key, taken from before each request; null: this process only. */
  readonly #shared: { readonly buckets: SharedRateBuckets; readonly key: string } | null;

  constructor(
    rate: RateLimit | undefined,
    now: () => number = Date.now,
    shared: { readonly buckets: SharedRateBuckets; readonly key: string } | null = null,
  ) {
    this.#rate = rate?.requestsPerSecond ?? Number.POSITIVE_INFINITY;
    this.#burst = Math.max(1, rate?.burst ?? Math.ceil(Number.isFinite(this.#rate) ? this.#rate : 1));
    this.#now = now;
    this.#shared = shared && Number.isFinite(this.#rate) ? shared : null;
    this.#tokens = this.#burst;
    this.#updatedAt = now();
  }

  /** Whether requests also take a token from the cluster's bucket (see the class). */
  get shared(): boolean {
    return this.#shared !== null;
  }

  /** The rate in force now (requests per second). */
  get rate(): number {
    return this.#now() < this.#adaptedUntil ? Math.min(this.#rate, this.#adaptedRate) : this.#rate;
  }

  /**
   * How long the caller must wait before its request may go (0 = now), reserving its token. Callers
   * are served in order; the returned wait includes waiting for those ahead.
   */
  reserve(): number {
    const now = this.#now();
    this.#refill(now);
    const startAt = Math.max(now, this.#pausedUntil);
    const rate = this.rate;
    if (!Number.isFinite(rate)) return startAt - now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return startAt - now;
    // In debt: the token arrives when the bucket has refilled one.
    return Math.max(startAt - now, Math.ceil((-this.#tokens * 1000) / rate));
  }

  /** Learns from `X-RateLimit-*`. */
  observe(budget: RateBudget): void {
    const now = this.#now();
    const { remaining, resetAtMs } = budget;
    if (remaining === undefined || resetAtMs === undefined || resetAtMs <= now) return;
    if (remaining <= 0) {
      this.#pausedUntil = Math.max(this.#pausedUntil, resetAtMs);
      return;
    }
    this.#refill(now);
    this.#adaptedRate = remaining / ((resetAtMs - now) / 1000);
    this.#adaptedUntil = resetAtMs;
    this.#tokens = Math.min(this.#tokens, remaining);
  }

  /**
   * Serialises waiting callers so they leave in order. `wait` is called when the caller must wait,
   * with why: `budget` when the API said its budget is spent until its reset, `rate` when pacing
   * to the rate in force (this process's, or the cluster's when shared).
   *
   * A shared bucket is asked while the caller holds its turn: the cluster's reservations of one
   * process are then made in the order its callers leave, one round trip each.
   */
  enqueue(wait: (ms: number, cause: 'budget' | 'rate') => Promise<void>): Promise<number> {
    const turn = this.#queue.then(async () => {
      const asked = this.#now();
      let ms = this.reserve();
      let cause: 'budget' | 'rate' = this.#pausedUntil > asked ? 'budget' : 'rate';
      if (this.#shared) {
        const cluster = await this.#shared.buckets.reserveRateToken(
          this.#shared.key,
          this.#rate,
          this.#burst,
        );
        // The local wait ran on while the store answered; the longer of the two is the one to wait.
        ms = Math.max(0, ms - (this.#now() - asked));
        if (cluster > ms) {
          ms = cluster;
          cause = 'rate';
        }
      }
      if (ms > 0) await wait(ms, cause);
      return ms;
    });
    this.#queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  #refill(now: number): void {
    const rate = this.rate;
    if (Number.isFinite(rate)) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) * rate) / 1000);
    }
    this.#updatedAt = now;
  }
}

/**
 * Token buckets by key (host), created on first use with the rate given then. Given the store's
 * `shared` buckets, a rate marked `shared` also draws from the cluster's bucket of its key.
 */
export class RateLimiters {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #now: () => number;
  readonly #shared: SharedRateBuckets | null;

  constructor(options: { readonly now?: () => number; readonly shared?: SharedRateBuckets | null } = {}) {
    this.#now = options.now ?? Date.now;
    this.#shared = options.shared ?? null;
  }

  get(key: string, rate?: RateLimit): TokenBucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      const shared = rate?.shared === true && this.#shared ? { buckets: this.#shared, key } : null;
      bucket = new TokenBucket(rate, this.#now, shared);
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }
}
