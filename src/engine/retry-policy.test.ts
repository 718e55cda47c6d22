import { describe, expect, it } from 'vitest';
import { TransientError } from '../core/errors.ts';
import { RetryPolicy } from './retry-policy.ts';

describe('RetryPolicy', () => {
  it('honours Retry-After, with a floor so Retry-After: 0 cannot spin', () => {
    const policy = new RetryPolicy({ minDelayMs: 250 });
    expect(policy.delayMs(1, new TransientError('429', { retryAfterMs: 5000 }))).toBe(5000);
    expect(policy.delayMs(1, new TransientError('429', { retryAfterMs: 0 }))).toBe(250);
  });

  it('backs off exponentially with full jitter, capped', () => {
    const top = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, minDelayMs: 0 }, () => 0.999999);
    expect([1, 2, 3, 4, 5, 10].map((n) => top.delayMs(n, new TransientError('503')))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    const bottom = new RetryPolicy({ baseDelayMs: 100, minDelayMs: 10 }, () => 0);
    expect(bottom.delayMs(4, new TransientError('503'))).toBe(10);
  });
});
