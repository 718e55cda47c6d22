import { describe, expect, it } from 'vitest';
import { FatalError, RunDeadlineError, TransientError } from '../core/errors.ts';
import { SyncEventBus, type SyncEvents } from '../core/events.ts';
import type { SourceReport } from '../core/source.ts';
import { RateLimiters } from './rate-limiter.ts';
import { RetryPolicy } from './retry-policy.ts';
import { sourceServices } from './source-services.ts';

function services(
  options: { maxAttempts?: number; budget?: number; deadline?: number | null; limiters?: RateLimiters } = {},
) {
  const reports: SourceReport[] = [];
  const events = new SyncEventBus();
  const told: { event: keyof SyncEvents; payload: unknown }[] = [];
  for (const event of ['request:retrying', 'rate:waiting'] as const) {
    events.on(event, (payload) => told.push({ event, payload }));
  }
  const s = sourceServices({
    stream: 's',
    policy: new RetryPolicy({
      maxAttempts: options.maxAttempts ?? 5,
      budget: options.budget ?? 100,
      baseDelayMs: 1,
      minDelayMs: 1,
    }),
    limiters: options.limiters ?? new RateLimiters(),
    signal: new AbortController().signal,
    deadline: options.deadline ?? null,
    report: (r) => reports.push(r),
    events,
    runId: 'run-1',
  });
  const total = (k: keyof SourceReport) => reports.reduce((sum, r) => sum + (r[k] ?? 0), 0);
  return { ...s, total, told };
}

describe('sourceServices.attempt', () => {
  it('retries transient errors and counts retries and 429s', async () => {
    const s = services();
    let calls = 0;
    const value = await s.attempt(
      async () => {
        calls++;
        if (calls === 1) throw new TransientError('429', { throttled: true, retryAfterMs: 1 });
        if (calls === 2) throw new TransientError('503');
        return 'ok';
      },
      { what: 'GET /x' },
    );
    expect(value).toBe('ok');
    expect(s.total('retries')).toBe(2);
    expect(s.total('throttled')).toBe(1);
  });

  it('does not retry other errors', async () => {
    const s = services();
    let calls = 0;
    await expect(
      s.attempt(
        async () => {
          calls++;
          throw new FatalError('403');
        },
        { what: 'GET /x' },
      ),
    ).rejects.toThrow('403');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts, and when the run budget is spent', async () => {
    const fail = async () => {
      throw new TransientError('503 Service Unavailable');
    };
    await expect(services({ maxAttempts: 3 }).attempt(fail, { what: 'GET /x' })).rejects.toThrow(
      /GET \/x failed 3 times, giving up: 503/,
    );
    await expect(services({ budget: 1 }).attempt(fail, { what: 'GET /x' })).rejects.toThrow(
      /retry budget \(1\) is spent/,
    );
  });

  it('stops at once when a demanded wait would overrun the deadline', async () => {
    const s = services({ deadline: Date.now() + 1000 });
    const started = Date.now();
    await expect(
      s.attempt(
        async () => {
          throw new TransientError('429', { retryAfterMs: 60_000, throttled: true });
        },
        { what: 'GET /x' },
      ),
    ).rejects.toBeInstanceOf(RunDeadlineError);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('tells each retry as it happens, with the attempt, the maximum, the wait and what failed', async () => {
    const s = services({ maxAttempts: 3 });
    let calls = 0;
    await s.attempt(
      async () => {
        calls++;
        if (calls === 1) {
          throw new TransientError('GET https://api.example.com/x answered 429: slow down', {
            throttled: true,
            retryAfterMs: 5,
            summary: '429 from api.example.com',
          });
        }
        if (calls === 2) throw new TransientError('GET https://api.example.com/x: socket hang up');
        return 'ok';
      },
      { what: 'GET https://api.example.com/x' },
    );
    expect(s.told).toEqual([
      {
        event: 'request:retrying',
        payload: {
          stream: 's',
          runId: 'run-1',
          what: 'GET https://api.example.com/x',
          attempt: 1,
          maxAttempts: 3,
          delayMs: 5,
          reason: '429 from api.example.com',
          retryAfter: true,
          throttled: true,
        },
      },
      {
        event: 'request:retrying',
        payload: expect.objectContaining({
          attempt: 2,
          reason: 'GET https://api.example.com/x: socket hang up',
          retryAfter: false,
          throttled: false,
          delayMs: expect.any(Number),
        }),
      },
    ]);
  });

  it('tells no retry when it gives up', async () => {
    const s = services({ maxAttempts: 2 });
    const fail = async () => {
      throw new TransientError('503', { summary: '503 from h' });
    };
    await expect(s.attempt(fail, { what: 'GET /x' })).rejects.toBeInstanceOf(FatalError);
    expect(s.told.map((t) => (t.payload as { attempt: number }).attempt)).toEqual([1]);
  });

  it('tells waits for the rate limiter, pacing to a rate or for a spent budget', async () => {
    const limiters = new RateLimiters();
    const s = services({ limiters });
    const limiter = { key: 'api.example.com', rate: { requestsPerSecond: 10, burst: 1 } };
    const op = async () => 'ok';
    await s.attempt(op, { what: 'GET /a', limiter });
    await s.attempt(op, { what: 'GET /b', limiter });
    expect(s.told).toEqual([
      {
        event: 'rate:waiting',
        payload: {
          stream: 's',
          runId: 'run-1',
          what: 'GET /b',
          limiter: 'api.example.com',
          delayMs: expect.any(Number),
          cause: 'rate',
          reason: 'the rate limit of api.example.com (10 requests/s)',
        },
      },
    ]);
    s.told.length = 0;
    limiters.get('api.example.com').observe({ remaining: 0, resetAtMs: Date.now() + 200 });
    await s.attempt(op, { what: 'GET /c', limiter });
    expect(s.told).toEqual([
      {
        event: 'rate:waiting',
        payload: expect.objectContaining({
          what: 'GET /c',
          cause: 'budget',
          reason: "the API's budget at api.example.com is spent until its reset (X-RateLimit-Remaining: 0)",
        }),
      },
    ]);
  });

  it('tells each try its number and whether a transient failure of it would be retried', async () => {
    const seen: unknown[] = [];
    const fail = async (_n: number, state: unknown) => {
      seen.push(state);
      throw new TransientError('503');
    };
    await expect(services({ maxAttempts: 3 }).attempt(fail, { what: 'GET /x' })).rejects.toThrow(/3 times/);
    expect(seen).toEqual([
      { attempt: 1, maxAttempts: 3, last: false },
      { attempt: 2, maxAttempts: 3, last: false },
      { attempt: 3, maxAttempts: 3, last: true },
    ]);
    seen.length = 0;
    await expect(services({ budget: 1 }).attempt(fail, { what: 'GET /x' })).rejects.toThrow(/budget/);
    expect(seen).toEqual([
      { attempt: 1, maxAttempts: 5, last: false },
      { attempt: 2, maxAttempts: 5, last: true },
    ]);
  });
});
