import { Agent, request, errors as undiciErrors } from 'undici';
import { FatalError, TransientError } from '../../core/errors.ts';
import { parseRetryAfter } from './retry-after.ts';

export interface HttpTimeouts {
  /** Time to establish the connection. Default 10 s. */
  readonly connectMs?: number;
  /** Time for the whole request, from sending to the last byte of the body. Default 30 s. */
  readonly requestMs?: number;
}

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
}

/** 4xx answers that a later attempt may get right. */
const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * Sends one HTTP request and classifies what happened, so retrying is a type check:
 * - 2xx and 304: returned;
 * - 401: returned too (the caller may refresh its credentials and ask again);
 * - 408, 425, 429 and 5xx, connection failures, resets, timeouts: `TransientError` (with the
 *   `Retry-After` wait when given; 429 marked `throttled`);
 * - any other status (403, 404, 400...): `FatalError` naming the stream, the request and the status.
 *
 * One `HttpRequester` holds one connection pool (keep-alive) for a stream's run.
 */
export class HttpRequester {
  readonly #agent: Agent;
  readonly #requestMs: number;

  constructor(timeouts: HttpTimeouts = {}) {
    this.#requestMs = timeouts.requestMs ?? 30_000;
    this.#agent = new Agent({
      connect: { timeout: timeouts.connectMs ?? 10_000 },
      headersTimeout: this.#requestMs,
      bodyTimeout: this.#requestMs,
      keepAliveTimeout: 4_000,
    });
  }

  async send(args: SendArgs): Promise<RawResponse> {
    const timeout = AbortSignal.timeout(this.#requestMs);
    const signal = AbortSignal.any([args.signal, timeout]);
    let status: number;
    let headers: Record<string, string>;
    let text: string;
    try {
      const res = await request(args.url, {
        method: args.method,
        headers: args.headers,
        signal,
        dispatcher: this.#agent,
      });
      status = res.statusCode;
      headers = flatten(res.headers);
      text = args.method === 'HEAD' ? '' : await res.body.text();
    } catch (error) {
      if (args.signal.aborted) throw args.signal.reason ?? error;
      throw new TransientError(`${args.what}: ${networkReason(error, timeout.aborted, this.#requestMs)}`, {
        stream: args.stream,
        cause: error,
      });
    }
    const bytes = Buffer.byteLength(text);
    if ((status >= 200 && status < 300) || status === 304 || status === 401)
      return { status, headers, text, bytes };
    const excerpt = text.replace(/\s+/g, ' ').slice(0, 200);
    const message = `${args.what} answered ${status}${excerpt ? `: ${excerpt}` : ''}`;
    if (status >= 500 || RETRYABLE_4XX.has(status)) {
      const retryAfterMs = parseRetryAfter(headers['retry-after']);
      throw new TransientError(message, {
        stream: args.stream,
        throttled: status === 429,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    throw new FatalError(`stream "${args.stream}": ${message}`, { stream: args.stream });
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function networkReason(error: unknown, timedOut: boolean, requestMs: number): string {
  if (timedOut) return `no complete answer within ${requestMs} ms`;
  if (error instanceof undiciErrors.ConnectTimeoutError) return 'connection timed out';
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return `no complete answer within ${requestMs} ms`;
  }
  if (error instanceof undiciErrors.SocketError) return 'the connection was reset while reading the answer';
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${message} (${code})` : message;
}
