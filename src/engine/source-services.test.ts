import { describe, expect, it } from 'vitest';
import { FatalError, RunDeadlineError, TransientError } from '../core/errors.ts';
import type { SourceReport } from '../core/types.ts';
import { RateLimiters } from './rate-limiter.ts';
import { RetryPolicy } from './retry-policy.ts';
import { sourceServices } from './source-services.ts';

function services(options: { maxAttempts?: number; budget?: number; deadline?: number | null } = {}) {
  const reports: SourceReport[] = [];
  const s = sourceServices({
    stream: 's',
    policy: new RetryPolicy({
      maxAttempts: options.maxAttempts ?? 5,
      budget: options.budget ?? 100,
      baseDelayMs: 1,
      minDelayMs: 1,
    }),
    limiters: new RateLimiters(),
    signal: new AbortController().signal,
    deadline: options.deadline ?? null,
    report: (r) => reports.push(r),
  });
  const total = (k: keyof SourceReport) => reports.reduce((sum, r) => sum + (r[k] ?? 0), 0);
  return { ...s, total };
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
});
