/** How failed operations are retried (see engine/retry-policy.ts). */
export interface RetrySettings {
  /** Attempts of one operation before giving up (the first try included). Default 8. */
  readonly maxAttempts?: number;
  /** Retries allowed in one run, all operations together. Default 200. */
  readonly budget?: number;
  /** Backoff base: the first retry waits up to this long. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Backoff cap: no computed wait exceeds this. Default 30 s. */
  readonly maxDelayMs?: number;
  /** The shortest wait even when the API says `Retry-After: 0`, so a retry loop cannot spin. Default 250 ms. */
  readonly minDelayMs?: number;
}
