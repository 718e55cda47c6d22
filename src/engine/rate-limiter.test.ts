import { describe, expect, it } from 'vitest';
import { TokenBucket } from './rate-limiter.ts';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TokenBucket', () => {
  it('lets a burst through, then spaces requests at the configured rate', () => {
    const c = clock();
    const bucket = new TokenBucket({ requestsPerSecond: 10, burst: 2 }, c.now);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(100);
    expect(bucket.reserve()).toBe(200);
    c.advance(1000);
    expect(bucket.reserve()).toBe(0);
  });

  it('spreads the remaining budget the API reports over the time to its reset', () => {
    const c = clock();
    const bucket = new TokenBucket(undefined, c.now);
    expect(bucket.reserve()).toBe(0);
    bucket.observe({ remaining: 5, resetAtMs: c.now() + 10_000 });
    expect(bucket.rate).toBeCloseTo(0.5);
    const waits = Array.from({ length: 6 }, () => bucket.reserve());
    // one now, then one every 2 s: the 5 remaining last until the reset instead of a 429 at once
    expect(waits).toEqual([0, 2000, 4000, 6000, 8000, 10000]);
    c.advance(10_001);
    expect(bucket.rate).toBe(Number.POSITIVE_INFINITY);
  });

  it('waits for the reset when the API says nothing is left', () => {
    const c = clock();
    const bucket = new TokenBucket({ requestsPerSecond: 100 }, c.now);
    bucket.observe({ remaining: 0, resetAtMs: c.now() + 3000 });
    expect(bucket.reserve()).toBe(3000);
    c.advance(3000);
    expect(bucket.reserve()).toBe(0);
  });

  it('serves queued callers in order', async () => {
    const bucket = new TokenBucket({ requestsPerSecond: 1000, burst: 1 });
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        bucket
          .enqueue((ms) => new Promise((r) => setTimeout(r, ms)))
          .then(() => {
            order.push(n);
          }),
      ),
    );
    expect(order).toEqual([1, 2, 3]);
  });
});
