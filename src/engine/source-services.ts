import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, FatalError, RunDeadlineError, TransientError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import type {
  AttemptOptions,
  AttemptState,
  RateBudget,
  RequestReport,
  SourceReport,
} from '../core/source.ts';
import type { RateLimiters } from './rate-limiter.ts';
import type { RetryPolicy } from './retry-policy.ts';

export interface SourceServicesArgs {
  readonly stream: string;
  readonly policy: RetryPolicy;
  readonly limiters: RateLimiters;
  readonly signal: AbortSignal;
  readonly deadline: number | null;
  readonly report: (report: SourceReport) => void;
  /**
   * Where retries, rate-limit waits and requests are told as they happen (`request:retrying`,
   * `rate:waiting`, `request:completed`).
   */
  readonly events: SyncEventBus;
  readonly runId: string;
  readonly now?: () => number;
}

/**
 * The `attempt`, `observeLimit` and `observeRequest` a source gets for one run: rate limits, retries with backoff,
 * budgets and the deadline, counted in the run record. Kept here, once, so every source (HTTP,
 * custom) is polite and resilient the same way.
 */
export function sourceServices(args: SourceServicesArgs) {
  const now = args.now ?? Date.now;
  let retriesLeft = args.policy.budget;

  async function wait(ms: number, why: string): Promise<void> {
    if (args.deadline !== null && now() + ms > args.deadline) {
      throw new RunDeadlineError(
        `stream "${args.stream}": ${why} would wait ${Math.ceil(ms / 1000)} s, past the run's maximum duration; ` +
          'stopping at the last checkpoint',
        { stream: args.stream },
      );
    }
    args.report({ waitMs: ms });
    await sleep(ms, undefined, { signal: args.signal });
  }

  /**
   * After failure number `n` of `what` with a transient `error`: counts it, then waits the policy's
   * delay; throws `FatalError` instead when the operation's attempts or the run's retry budget are
   * spent. Shared by `attempt` and the engine's restart of a source that threw a transient error.
   */
  async function backOff(error: TransientError, n: number, what: string): Promise<void> {
    if (error.throttled) args.report({ throttled: 1 });
    if (n >= args.policy.maxAttempts) {
      throw new FatalError(
        `stream "${args.stream}": ${what} failed ${n} times, giving up: ${describeError(error)}`,
        {
          stream: args.stream,
          cause: error,
        },
      );
    }
    if (retriesLeft <= 0) {
      throw new FatalError(
        `stream "${args.stream}": the run's retry budget (${args.policy.budget}) is spent; last error on ` +
          `${what}: ${describeError(error)}`,
        { stream: args.stream, cause: error },
      );
    }
    retriesLeft--;
    args.report({ retries: 1 });
    const delayMs = args.policy.delayMs(n, error);
    args.events.emit('request:retrying', {
      stream: args.stream,
      runId: args.runId,
      what,
      attempt: n,
      maxAttempts: args.policy.maxAttempts,
      delayMs,
      reason: error.summary ?? describeError(error),
      retryAfter: error.retryAfterMs !== undefined,
      throttled: error.throttled,
    });
    await wait(delayMs, `retrying ${what}`);
  }

  async function attempt<T>(
    op: (attempt: number, state: AttemptState) => Promise<T>,
    options: AttemptOptions,
  ): Promise<T> {
    const limiter = options.limiter;
    const bucket = limiter ? args.limiters.get(limiter.key, limiter.rate) : null;
    const waitForToken = (ms: number, cause: 'budget' | 'rate') => {
      const key = limiter!.key;
      args.events.emit('rate:waiting', {
        stream: args.stream,
        runId: args.runId,
        what: options.what,
        limiter: key,
        delayMs: ms,
        cause,
        reason:
          cause === 'budget'
            ? `the API's budget at ${key} is spent until its reset (X-RateLimit-Remaining: 0)`
            : `the ${bucket!.shared ? 'shared ' : ''}rate limit of ${key} (${formatRate(bucket!.rate)} requests/s)`,
      });
      return wait(ms, `the rate limit of ${key}`);
    };
    for (let n = 1; ; n++) {
      if (bucket) await bucket.enqueue(waitForToken);
      const maxAttempts = args.policy.maxAttempts;
      try {
        return await op(n, { attempt: n, maxAttempts, last: n >= maxAttempts || retriesLeft <= 0 });
      } catch (error) {
        if (!(error instanceof TransientError) || args.signal.aborted) throw error;
        await backOff(error, n, options.what);
      }
    }
  }

  function observeLimit(limiter: string, budget: RateBudget): void {
    args.limiters.get(limiter).observe(budget);
  }

  function observeRequest(request: RequestReport): void {
    args.events.emit('request:completed', {
      stream: args.stream,
      runId: args.runId,
      what: request.what,
      status: request.status,
      bytes: request.bytes,
      durationMs: request.durationMs,
    });
  }

  return { attempt, observeLimit, observeRequest, backOff };
}

/** A rate in requests per second: `5`, `0.5`, `0.02`. */
function formatRate(rate: number): string {
  return rate >= 10 ? String(Math.round(rate)) : String(Number(rate.toPrecision(2)));
}
