import { FatalError, TransientError } from '../../core/errors.ts';
import { hopelessFailure } from './hopeless-failure.ts';
import { parseRetryAfter } from './retry-after.ts';
import { urlProblem } from './url-problem.ts';

export interface HttpTimeouts {
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
  /** A fetch by id: 404 and 410 are answers (the record is gone), returned like a 2xx. */
  readonly goneIsAnswer?: boolean;
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
 * It uses Node's built-in `fetch` (keep-alive connections, pooled per origin). The `undici`
 * package is deliberately not used here: a config file loaded through tsx's scoped import would
 * load a second copy of it, whose internal identity checks then fail.
 */
export class HttpRequester {
  readonly #requestMs: number;

  constructor(timeouts: HttpTimeouts = {}) {
    this.#requestMs = timeouts.requestMs ?? 30_000;
  }

  async send(args: SendArgs): Promise<RawResponse> {
    const problem = urlProblem(args.url);
    if (problem !== null) {
      throw new FatalError(`stream "${args.stream}": ${args.what}: ${problem}; check request.baseUrl`, {
        stream: args.stream,
      });
    }
    const timeout = AbortSignal.timeout(this.#requestMs);
    const signal = AbortSignal.any([args.signal, timeout]);
    let status: number;
    const headers: Record<string, string> = {};
    let text: string;
    try {
      // Redirects are not followed: a redirect to another host must not receive our credentials,
      // and an API that redirects a list endpoint is misconfigured in a way worth seeing.
      const res = await fetch(args.url, {
        method: args.method,
        headers: args.headers,
        signal,
        redirect: 'manual',
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
      throw new TransientError(`${args.what}: ${networkReason(error, timeout.aborted, this.#requestMs)}`, {
        stream: args.stream,
        cause: error,
      });
    }
    const bytes = Buffer.byteLength(text);
    if ((status >= 200 && status < 300) || status === 304 || status === 401)
      return { status, headers, text, bytes };
    if (args.goneIsAnswer && (status === 404 || status === 410)) return { status, headers, text, bytes };
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
}

/** One line on why no answer came: a timeout, a reset, a refused connection. */
function networkReason(error: unknown, timedOut: boolean, requestMs: number): string {
  if (timedOut) return `no complete answer within ${requestMs} ms`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  const message = cause?.message ?? (error instanceof Error ? error.message : String(error));
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')
    return 'the connection was reset while reading the answer';
  return code ? `${message} (${code})` : message;
}
