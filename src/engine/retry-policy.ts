import type { TransientError } from '../core/errors.ts';
import type { RetrySettings } from '../core/retry-settings.ts';

export type { RetrySettings };

/**
 * How long to wait before a retry: what the API asked for (`Retry-After`), never less than
 * `minDelayMs`; otherwise exponential backoff with full jitter, `random(0, min(cap, base * 2^n))`,
 * which spreads retries of many clients instead of synchronising them.
 */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly budget: number;
  readonly #base: number;
  readonly #cap: number;
  readonly #floor: number;
  readonly #random: () => number;

  constructor(settings: RetrySettings = {}, random: () => number = Math.random) {
    this.maxAttempts = settings.maxAttempts ?? 8;
    this.budget = settings.budget ?? 200;
    this.#base = settings.baseDelayMs ?? 500;
    this.#cap = settings.maxDelayMs ?? 30_000;
    this.#floor = settings.minDelayMs ?? 250;
    this.#random = random;
  }

  /** The wait before retry number `retry` (1 = the first retry) after `error`. */
  delayMs(retry: number, error: TransientError): number {
    if (error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs)) {
      return Math.max(this.#floor, error.retryAfterMs);
    }
    const ceiling = Math.min(this.#cap, this.#base * 2 ** Math.min(30, retry - 1));
    return Math.max(this.#floor, Math.floor(this.#random() * ceiling));
  }
}
