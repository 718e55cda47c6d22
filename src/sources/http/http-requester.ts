import { performance } from 'node:perf_hooks';
import { FatalError, TransientError } from '../../core/errors.ts';
import type { AttemptState, RequestReport } from '../../core/source.ts';
import type { Logger } from '../../core/types.ts';
import { hopelessFailure } from './hopeless-failure.ts';
import { parseRetryAfter } from './retry-after.ts';
import { urlProblem } from './url-problem.ts';

export interface HttpTimeouts {
  /** Time for the whole request, from sending to the last byte of the body. Default 30 s. */
  readonly requestMs?: number;
  /**
   * Time to establish a connection (TCP and TLS). Default: fetch's own, 10 s, with fetch's shared
   * connection pool (and any global dispatcher, such as a proxy, set with undici's
   * `setGlobalDispatcher`). When set, requests go through a pool of this process's own that
   * connects directly with this timeout.
   */
  readonly connectMs?: number;
}

/** The connect timeout of Node's fetch (undici's default), which applies when `connectMs` is unset. */
const FETCH_CONNECT_MS = 10_000;

export interface RawResponse {
  readonly status: number;
  /** Names lower-cased; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly bytes: number;
}

export interface SendArgs {
  readonly method: 'GET' | 'HEAD';
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
  /** How the request is named in errors: method and URL without secrets. */
  readonly what: string;
  readonly stream: string;
  /** A fetch by id: 404 and 410 are answers (the record is gone), returned like a 2xx. */
  readonly goneIsAnswer?: boolean;
  /** The try this request is (from `SourceArgs.attempt`), for the request log. Default: unknown. */
  readonly attempt?: AttemptState;
}

/** 4xx answers that a later attempt may get right. */
const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * Sends one HTTP request and classifies what happened, so retrying is a type check:
 * - 2xx and 304: returned;
 * - 401: returned too (the caller may refresh its credentials and ask again);
 * - 408, 425, 429 and 5xx, connection failures, resets, timeouts: `TransientError` (with the
 *   `Retry-After` wait when given; 429 marked `throttled`);
 * - what no retry can cure: `FatalError` at once, before any request for a URL fetch cannot get
 *   (`urlProblem`), after the first for an untrusted TLS certificate (`hopelessFailure`);
 * - any other status (403, 404, 400...): `FatalError` naming the stream, the request and the status.
 *
 * It uses Node's built-in `fetch` (keep-alive connections, pooled per origin). Only a configured
 * connect timeout needs the `undici` package, imported then: an `Agent` with `connect.timeout`,
 * handed to that fetch as its dispatcher. undici's own `request` was used once and dropped: a
 * config loaded through tsx's scoped import, which loads a second copy of Syncline and of undici,
 * failed with "Illegal constructor". The Agent is built by whichever copy runs the stream and
 * only its `dispatch` is called, by the one global fetch; test/cli/ts-config-http.test.ts runs a
 * TypeScript config that way.
 */
export class HttpRequester {
  readonly #requestMs: number;
  readonly #connectMs: number | undefined;
  readonly #log: Logger | undefined;
  readonly #observe: ((request: RequestReport) => void) | undefined;

  /**
   * `log`: where each request is logged, at debug (method, URL as `what` shows it, status, duration,
   * bytes, and for a failure whether it is retried); at trace also the answer's rate-limit headers
   * and the attempt. Default: not logged. `observe`: told of every request that was sent, answered
   * or not, retried or not (`SourceArgs.observeRequest`, the engine's `request:completed`). Default:
   * nobody.
   */
  constructor(timeouts: HttpTimeouts = {}, log?: Logger, observe?: (request: RequestReport) => void) {
    this.#requestMs = timeouts.requestMs ?? 30_000;
    this.#connectMs = timeouts.connectMs;
    this.#log = log;
    this.#observe = observe;
  }

  /** Sends the request, logs how it went and tells the observer (see the constructor). */
  async send(args: SendArgs): Promise<RawResponse> {
    const started = performance.now();
    let raw: RawResponse | null = null;
    let failure: unknown;
    let sent = false;
    try {
      raw = await this.#send(
        args,
        () => {
          sent = true;
        },
        (answer) => {
          raw = answer;
        },
      );
      return raw;
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      const durationMs = Math.round(performance.now() - started);
      if (this.#log) logRequest(this.#log, args, raw, failure, durationMs);
      if (sent && this.#observe) {
        const answer = raw as RawResponse | null;
        this.#observe({
          what: args.what,
          status: answer?.status ?? null,
          bytes: answer?.bytes ?? 0,
          durationMs,
        });
      }
    }
  }

  /** `sending`: called once the request goes out (not for a URL refused before); `answered`: with the answer. */
  async #send(
    args: SendArgs,
    sending: () => void,
    answered: (raw: RawResponse) => void,
  ): Promise<RawResponse> {
    const problem = urlProblem(args.url);
    if (problem !== null) {
      throw new FatalError(`stream "${args.stream}": ${args.what}: ${problem}; check request.baseUrl`, {
        stream: args.stream,
      });
    }
    const dispatcher = this.#connectMs === undefined ? undefined : await connectingPool(this.#connectMs);
    const timeout = AbortSignal.timeout(this.#requestMs);
    const signal = AbortSignal.any([args.signal, timeout]);
    let status: number;
    const headers: Record<string, string> = {};
    let text: string;
    sending();
    try {
      // Redirects are not followed: a redirect to another host must not receive our credentials,
      // and an API that redirects a list endpoint is misconfigured in a way worth seeing.
      const res = await fetch(args.url, {
        method: args.method,
        headers: args.headers,
        signal,
        redirect: 'manual',
        // Node's fetch takes undici's `dispatcher` option; its RequestInit type does not name it.
        ...(dispatcher ? ({ dispatcher } as RequestInit) : {}),
      });
      status = res.status;
      res.headers.forEach((value, name) => {
        headers[name] = value;
      });
      text = args.method === 'HEAD' ? '' : await res.text();
    } catch (error) {
      if (args.signal.aborted) throw args.signal.reason ?? error;
      const hopeless = hopelessFailure(error);
      if (hopeless !== null) {
        throw new FatalError(`stream "${args.stream}": ${args.what}: ${hopeless}`, {
          stream: args.stream,
          cause: error,
        });
      }
      const reason = networkReason(
        error,
        timeout.aborted,
        this.#requestMs,
        this.#connectMs ?? FETCH_CONNECT_MS,
      );
      throw new TransientError(`${args.what}: ${reason}`, {
        stream: args.stream,
        cause: error,
        summary: `${args.url.host}: ${reason}`,
      });
    }
    const bytes = Buffer.byteLength(text);
    const raw = { status, headers, text, bytes };
    answered(raw);
    if ((status >= 200 && status < 300) || status === 304 || status === 401) return raw;
    if (args.goneIsAnswer && (status === 404 || status === 410)) return raw;
    const excerpt = text.replace(/\s+/g, ' ').slice(0, 200);
    const message = `${args.what} answered ${status}${excerpt ? `: ${excerpt}` : ''}`;
    if (status >= 500 || RETRYABLE_4XX.has(status)) {
      const retryAfterMs = parseRetryAfter(headers['retry-after']);
      throw new TransientError(message, {
        stream: args.stream,
        throttled: status === 429,
        summary: `${status} from ${args.url.host}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    throw new FatalError(`stream "${args.stream}": ${message}`, { stream: args.stream });
  }
}

/** Response headers about rate limits, which trace-level request logs show. */
const LIMIT_HEADER = /^(retry-after|x-ratelimit-|ratelimit)/;

/**
 * One line per request: at debug `GET <url> answered 503 in 12 ms (45 bytes); retrying` with the
 * same as fields (`method`, `requestUrl`, `status`, `durationMs`, `bytes`, `decision`); at trace
 * also `attempt`, `maxAttempts` and `limits` (Retry-After, X-RateLimit-*). The URL is `args.what`'s,
 * which names no secret; request headers (credentials) are never logged.
 */
function logRequest(
  log: Logger,
  args: SendArgs,
  raw: RawResponse | null,
  failure: unknown,
  durationMs: number,
): void {
  const requestUrl = args.what.startsWith(`${args.method} `)
    ? args.what.slice(args.method.length + 1)
    : args.what;
  const decision =
    failure === undefined
      ? null
      : args.signal.aborted
        ? 'stopped'
        : failure instanceof TransientError
          ? args.attempt === undefined
            ? 'transient'
            : args.attempt.last
              ? 'giving up'
              : 'retrying'
          : 'fatal';
  const fields: Record<string, unknown> = {
    stream: args.stream,
    method: args.method,
    requestUrl,
    status: raw?.status ?? null,
    durationMs,
    bytes: raw?.bytes ?? 0,
    ...(decision !== null ? { decision } : {}),
    ...(failure !== undefined && raw === null ? { error: (failure as Error).message } : {}),
  };
  const outcome = raw === null ? 'got no answer' : `answered ${raw.status}`;
  const msg =
    `${args.method} ${requestUrl} ${outcome} in ${durationMs} ms` +
    `${raw ? ` (${raw.bytes} bytes)` : ''}${decision !== null ? `; ${decision}` : ''}`;
  if (log.level === 'trace' && log.trace) {
    const limits = Object.fromEntries(
      Object.entries(raw?.headers ?? {}).filter(([name]) => LIMIT_HEADER.test(name)),
    );
    const attempt = args.attempt
      ? { attempt: args.attempt.attempt, maxAttempts: args.attempt.maxAttempts }
      : {};
    log.trace({ ...fields, ...attempt, limits }, msg);
  } else {
    log.debug(fields, msg);
  }
}

/**
 * Connection pools with a connect timeout of their own, one per timeout, shared by every stream
 * and run of the process (so connections are reused, and idle ones closed by the pool).
 */
const pools = new Map<number, Promise<unknown>>();

function connectingPool(connectMs: number): Promise<unknown> {
  let pool = pools.get(connectMs);
  if (pool === undefined) {
    pool = import('undici').then(({ Agent }) => new Agent({ connect: { timeout: connectMs } }));
    pools.set(connectMs, pool);
  }
  return pool;
}

/** One line on why no answer came: a timeout, a reset, a refused connection. */
function networkReason(error: unknown, timedOut: boolean, requestMs: number, connectMs: number): string {
  if (timedOut) return `no complete answer within ${requestMs} ms`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  const message = cause?.message ?? (error instanceof Error ? error.message : String(error));
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `could not connect within ${connectMs} ms (request.connectTimeoutMs)`;
  }
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')
    return 'the connection was reset while reading the answer';
  return code ? `${message} (${code})` : message;
}
