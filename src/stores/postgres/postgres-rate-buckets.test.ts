import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { freshPgSchema, withPgClient } from '../../../test/helpers/postgres.ts';
import { RateLimiters } from '../../engine/rate-limiter.ts';
import { PostgresStore } from './postgres-store.ts';

// The shared rate buckets of `rateLimit: { shared: true }`: two stores on one schema are two
// workers (two pools, two sets of connections), as two `syncline run` processes would be.

/** Two open stores on a fresh schema, closed and dropped after `fn`. */
async function twoWorkers(fn: (a: PostgresStore, b: PostgresStore, schema: string) => Promise<void>) {
  const fresh = await freshPgSchema();
  const a = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
  const b = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
  try {
    await a.open();
    await b.open();
    await fn(a, b, fresh.schema);
  } finally {
    await a.close();
    await b.close();
    await fresh.drop();
  }
}

describe('PostgreSQL shared rate buckets', () => {
  it('grants the burst at once, then charges the debt in turn across workers', async () => {
    await twoWorkers(async (a, b) => {
      const rate = 10;
      const burst = 2;
      const calls: Array<{ wait: number; before: number; after: number }> = [];
      for (const worker of [a, b, a, b, a, b]) {
        const before = performance.now();
        const wait = await worker.reserveRateToken('api.example.com', rate, burst);
        calls.push({ wait, before, after: performance.now() });
      }
      // Two tokens, then one every 100 ms whoever asks, less what refilled between the first call
      // and this one (the database's clock read somewhere inside each call).
      const expected = [0, 0, 100, 200, 300, 400];
      const first = calls[0]!;
      for (const [i, { wait, before, after }] of calls.entries()) {
        if (expected[i] === 0) {
          expect(wait).toBe(0);
          continue;
        }
        expect(wait).toBeLessThanOrEqual(expected[i]! - (before - first.after) + 1);
        expect(wait).toBeGreaterThanOrEqual(expected[i]! - (after - first.before));
      }
    });
  });

  it('keeps one bucket per key', async () => {
    await twoWorkers(async (a, b) => {
      // One token every 10 s: the second take of a key waits most of that, however slow the calls.
      expect(await a.reserveRateToken('one.example.com', 0.1, 1)).toBe(0);
      expect(await b.reserveRateToken('two.example.com', 0.1, 1)).toBe(0);
      expect(await b.reserveRateToken('one.example.com', 0.1, 1)).toBeGreaterThan(5000);
    });
  });

  it('refills by the database clock up to the burst, and no further', async () => {
    await twoWorkers(async (a, b, schema) => {
      expect(await a.reserveRateToken('api.example.com', 0.1, 3)).toBe(0);
      // A quiet spell long enough to refill far past the burst: only the burst goes at once.
      await withPgClient((c) =>
        c.query(`UPDATE "${schema}".syncline_rate_buckets SET updated_at = updated_at - interval '1 hour'`),
      );
      const waits = [];
      for (let i = 0; i < 4; i++)
        waits.push(await (i % 2 ? b : a).reserveRateToken('api.example.com', 0.1, 3));
      expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
      // The fourth waits for a whole token at one per 10 s (less the time the calls took).
      expect(waits[3]).toBeGreaterThan(5000);
      expect(waits[3]).toBeLessThanOrEqual(10_000);
    });
  });

  it('holds rate and burst for two workers taking tokens as fast as they are allowed', async () => {
    await twoWorkers(async (a, b) => {
      const rate = 20;
      const burst = 5;
      const windowMs = 2000;
      const start = Date.now();
      const end = start + windowMs;
      /** When each granted request may go: the answer's arrival plus the wait it says. */
      const goes: number[] = [];
      const worker = async (store: PostgresStore) => {
        while (Date.now() < end) {
          const wait = await store.reserveRateToken('api.example.com', rate, burst);
          goes.push(Date.now() + wait);
          await sleep(wait);
        }
      };
      await Promise.all([worker(a), worker(b), worker(a), worker(b)]);
      const inWindow = goes.filter((t) => t < end).length;
      // The bucket can grant at most its burst plus the rate over the window; the workers, never
      // idle, take nearly all of it. (+1: Date.now() is whole ms, the database's clock is not.)
      expect(inWindow).toBeLessThanOrEqual(burst + (rate * windowMs) / 1000 + 1);
      expect(inWindow).toBeGreaterThanOrEqual(burst + (rate * windowMs) / 1000 - 4);
    });
  });

  it('still obeys the X-RateLimit-* headers a process sees, beside the shared bucket', async () => {
    await twoWorkers(async (a) => {
      const bucket = new RateLimiters({ shared: a }).get('api.example.com', {
        requestsPerSecond: 100,
        shared: true,
      });
      expect(bucket.shared).toBe(true);
      bucket.observe({ remaining: 0, resetAtMs: Date.now() + 300 });
      const waits: Array<[number, string]> = [];
      await bucket.enqueue(async (ms, cause) => {
        waits.push([ms, cause]);
        await sleep(ms);
      });
      // The shared bucket is full; the API's spent budget is what holds the request back.
      expect(waits).toHaveLength(1);
      expect(waits[0]![1]).toBe('budget');
      expect(waits[0]![0]).toBeGreaterThan(200);
    });
  });

  it('paces two processes\u2019 limiters together when the rate limit is shared, and each alone when not', async () => {
    await twoWorkers(async (a, b) => {
      const windowMs = 1500;
      const count = async (shared: boolean, host: string) => {
        const limiters = [a, b].map((store) => new RateLimiters({ shared: store }));
        const end = Date.now() + windowMs;
        let sent = 0;
        // Each "process" runs three streams calling the same host.
        const stream = async (limiters: RateLimiters) => {
          const bucket = limiters.get(host, { requestsPerSecond: 10, burst: 2, shared });
          while (Date.now() < end) {
            await bucket.enqueue((ms) => sleep(ms));
            if (Date.now() < end) sent++;
          }
        };
        await Promise.all(limiters.flatMap((l) => [stream(l), stream(l), stream(l)]));
        return sent;
      };
      const shared = await count(true, 'shared.example.com');
      const apart = await count(false, 'apart.example.com');
      // Shared: 2 + 10/s over 1.5 s = 17 at most. Apart: each process takes its own 17.
      expect(shared).toBeLessThanOrEqual(18);
      expect(shared).toBeGreaterThanOrEqual(13);
      expect(apart).toBeGreaterThanOrEqual(28);
    });
  });
});
