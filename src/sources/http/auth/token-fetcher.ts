import { FatalError, TransientError } from '../../../core/errors.ts';
import { redactUrl } from '../../../core/redact-url.ts';
import { hopelessFailure } from '../hopeless-failure.ts';

/** One POST to an OAuth2 token endpoint. */
export interface TokenRequest {
  readonly url: string;
  /** Includes the client's Basic credential when it authenticates that way: never log these. */
  readonly headers: Readonly<Record<string, string>>;
  /** `application/x-www-form-urlencoded`; may hold the client secret. */
  readonly body: string;
  /** Aborted when every caller waiting for the token gave up. */
  readonly signal: AbortSignal;
}

/** The token endpoint's answer, whatever its status: OAuth2Auth reads and classifies it. */
export interface TokenResponse {
  readonly status: number;
  /** Names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Sends a token request. Throws a TransientError when no answer came (network error, timeout), a
 * FatalError when none ever will (an untrusted TLS certificate), or the signal's reason when it
 * was aborted. Injectable so tests and embedders can swap the
 * transport; the default is `requestToken`.
 */
export type TokenFetcher = (request: TokenRequest) => Promise<TokenResponse>;

/** Default time a token request may take, connect to last body byte. */
export const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/** The default TokenFetcher: Node's `fetch`, no redirects followed, a 10 s overall timeout. */
export async function requestToken(
  token: TokenRequest,
  timeoutMs: number = TOKEN_REQUEST_TIMEOUT_MS,
): Promise<TokenResponse> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(token.url, {
      method: 'POST',
      headers: token.headers,
      body: token.body,
      redirect: 'manual',
      signal: AbortSignal.any([token.signal, timeout]),
    });
    const body = await response.text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { status: response.status, headers, body };
  } catch (error) {
    if (token.signal.aborted) throw token.signal.reason;
    const url = redactUrl(token.url);
    if (timeout.aborted) {
      throw new TransientError(`OAuth2 token request to ${url} timed out after ${timeoutMs} ms`);
    }
    const hopeless = hopelessFailure(error);
    if (hopeless !== null) {
      throw new FatalError(`OAuth2 token request to ${url} failed: ${hopeless}`, { cause: error });
    }
    // Network errors name a host and a code, never the request's headers or body.
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
    throw new TransientError(`OAuth2 token request to ${url} failed: ${reason}`, { cause: error });
  }
}
