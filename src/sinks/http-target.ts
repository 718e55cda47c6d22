import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';
import { FatalError, TransientError } from '../core/errors.ts';
import { guardedLookup, PrivateTargetError } from './target-guard.ts';

/**
 * An HTTP API a sink writes to (a webhook receiver, a destination): one undici agent, the SSRF
 * guard on every connection unless private targets are allowed, a per-host pace, and the
 * classification every such sink shares: an answer comes back (2xx or a 4xx the caller judges);
 * 408, 429, 5xx, a timeout or no answer is a `TransientError` (with the `Retry-After`); a private
 * address refused by the guard is a `FatalError`.
 */
export interface HttpTarget {
  call(request: TargetRequest, signal: AbortSignal): Promise<TargetAnswer>;
  close(): Promise<void>;
}

export interface TargetRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** What the rate limit counts per: default the URL's origin (a webhook sink paces each URL). */
  readonly paceKey?: string;
}

/** An answer that is not transient: a 2xx, or a 4xx other than 408 and 429. */
export interface TargetAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  /** `host/path`, for messages (never the query, which may hold a secret). */
  readonly where: string;
}

export function createHttpTarget(options: {
  /** Who calls, for messages: `sink "crm"`, `destination "crm"`. */
  readonly owner: string;
  readonly timeoutMs: number;
  /** Requests per second per pace key (`TargetRequest.paceKey`), at most. Default: no limit. */
  readonly rateLimit?: number;
  readonly allowPrivateTargets: boolean;
}): HttpTarget {
  // Without allowPrivateTargets, every connection checks the addresses again (DNS rebinding).
  const agent = new Agent(options.allowPrivateTargets ? {} : { connect: { lookup: guardedLookup } });
  // 2% wider than 1000 / rate: n + 1 requests then span more than a second by 20 ms of timer and
  // network jitter, so no one-second window (as the API counts) holds more than `rateLimit`.
  const gapMs = options.rateLimit ? (1000 / options.rateLimit) * 1.02 : 0;
  const nextAt = new Map<string, number>();
  /** Per pace key: until when the API said its budget is spent (rate-limit headers, a 429). */
  const blockedUntil = new Map<string, number>();

  const pace = async (key: string, signal: AbortSignal) => {
    for (;;) {
      const blocked = (blockedUntil.get(key) ?? 0) - Date.now();
      if (blocked <= 0) break;
      await sleep(blocked, undefined, { signal });
    }
    if (gapMs === 0) return;
    // A slot is taken when it is due, not booked ahead: timers that fire late together (a busy
    // event loop) then go one gap apart instead of in a burst.
    for (;;) {
      const wait = (nextAt.get(key) ?? 0) - Date.now();
      if (wait <= 0) break;
      await sleep(wait, undefined, { signal });
    }
    nextAt.set(key, Date.now() + gapMs);
  };
  const block = (key: string, ms: number | undefined) => {
    if (ms === undefined || ms <= 0) return;
    const until = Date.now() + Math.min(ms, MAX_BLOCK_MS);
    if (until > (blockedUntil.get(key) ?? 0)) blockedUntil.set(key, until);
  };

  return {
    async call(request, signal) {
      const paceKey = request.paceKey ?? request.url.origin;
      await pace(paceKey, signal);
      const where = `${request.url.host}${request.url.pathname}`;
      let response: Awaited<ReturnType<typeof fetch>>;
      let body: string;
      try {
        response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
          redirect: 'manual',
          dispatcher: agent,
          signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
        });
        body = await response.text().catch(() => '');
      } catch (error) {
        if (signal.aborted) throw error;
        const refused = causes(error).find((c) => c instanceof PrivateTargetError);
        if (refused) {
          throw new FatalError(
            `${options.owner}: url ${where}: ${refused.message}; set allowPrivateTargets: true if that is meant`,
          );
        }
        const timedOut = (error as Error).name === 'TimeoutError';
        const why = timedOut ? `no answer within ${options.timeoutMs} ms` : 'no answer (connection failed)';
        throw new TransientError(`${options.owner}: ${request.method} ${where}: ${why}`, {
          summary: `${where}: ${why}`,
        });
      }
      const { status } = response;
      block(paceKey, spentFor(response.headers));
      if (status === 408 || status === 429 || status >= 500) {
        const retryAfterMs = retryAfter(response.headers.get('retry-after'));
        if (status === 429) block(paceKey, retryAfterMs);
        throw new TransientError(`${options.owner}: ${request.method} ${where}: ${status}`, {
          summary: `${status} from ${where}`,
          throttled: status === 429,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        });
      }
      return { status, headers: response.headers as unknown as Headers, body, where };
    },
    async close() {
      await agent.close();
    },
  };
}

/** The longest an API's rate-limit headers make requests wait. */
const MAX_BLOCK_MS = 5 * 60_000;

/**
 * How long the API's budget stays spent, in ms, when its rate-limit headers say it is
 * (`X-RateLimit-Remaining: 0` or the IETF draft's `RateLimit-Remaining: 0`, with a reset in
 * seconds from now or as epoch seconds); undefined when they do not.
 */
function spentFor(headers: { get(name: string): string | null }): number | undefined {
  const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining');
  if (remaining === null || Number(remaining.trim()) > 0) return undefined;
  const reset = Number((headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset') ?? '').trim());
  if (!Number.isFinite(reset) || reset <= 0) return undefined;
  return reset > 1e9 ? reset * 1000 - Date.now() : reset * 1000;
}

/** `Retry-After` in ms: seconds, or an HTTP date. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The error and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (
    let e = error;
    e !== undefined && e !== null && chain.length < 10;
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e);
  }
  return chain;
}
