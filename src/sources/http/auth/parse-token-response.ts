import { FatalError, TransientError } from '../../../core/errors.ts';
import type { TokenResponse } from './token-fetcher.ts';

/** An access token as cached: its value and when to stop using it. */
export interface AccessToken {
  readonly value: string;
  /** Epoch ms after which the server no longer accepts it; null when it did not say (`expires_in`). */
  readonly expiresAt: number | null;
  /**
   * Epoch ms from which a new one is fetched before use: 30 s or 10% of its lifetime before
   * expiry, whichever is sooner to expiry, so short-lived tokens are not refreshed on every
   * request and long-lived ones do not die in flight. Null with `expiresAt`.
   */
  readonly refreshAt: number | null;
}

/** What the messages may name: never a secret. */
export interface TokenResponseContext {
  /** The token URL, already redacted. */
  readonly url: string;
  /** When the request was sent: lifetimes count from then, to err on the early side. */
  readonly requestedAt: number;
  /** Env var names to point at when the server refuses the client. */
  readonly clientIdEnv: string;
  readonly clientSecretEnv: string;
  readonly stream: string | undefined;
  /** Scrubs server-supplied text, which could echo a credential back. */
  readonly scrub: (text: string) => string;
}

/** Longest proactive-refresh margin. */
const MAX_REFRESH_MARGIN_MS = 30_000;
/** Longest server-supplied text quoted in a message. */
const MAX_QUOTED = 200;
/** Server text is quoted on one line. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
const CONTROL_CHARS = /[\u0000-\u001f\u007f]+/g;

/**
 * Reads a token endpoint's answer (RFC 6749 sections 5.1 and 5.2): a token on 2xx; a
 * TransientError on 408, 429 and 5xx (with the server's Retry-After); a FatalError naming the
 * OAuth error code and description on anything else, since retrying the same credentials cannot
 * help.
 */
export function parseTokenResponse(response: TokenResponse, context: TokenResponseContext): AccessToken {
  const { status } = response;
  const fields = parseBody(response);
  const details = { stream: context.stream };
  if (status >= 200 && status < 300) return readToken(fields, context);

  const oauthError = describeOAuthError(fields, context.scrub);
  const what = `OAuth2 token endpoint ${context.url} answered ${status}${oauthError}`;
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], context.requestedAt);
    throw new TransientError(`${what}; the request will be retried`, { ...details, retryAfterMs });
  }
  throw new FatalError(`${what}; ${hint(fields['error'], context)}`, details);
}

function readToken(fields: Record<string, unknown>, context: TokenResponseContext): AccessToken {
  const details = { stream: context.stream };
  const value = fields['access_token'];
  if (typeof value !== 'string' || value === '') {
    throw new FatalError(
      `OAuth2 token endpoint ${context.url} answered without an access_token; check tokenUrl`,
      details,
    );
  }
  const type = fields['token_type'];
  // RFC 6749 7.1: a client must not use a token type it does not understand. A missing type is
  // taken as bearer, since some servers leave it out.
  if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer')) {
    throw new FatalError(
      `OAuth2 token endpoint ${context.url} issued a token of type ${quote(String(type), context.scrub)}; ` +
        'only bearer tokens are supported',
      details,
    );
  }
  const lifetimeS = Number(fields['expires_in']);
  if (fields['expires_in'] === undefined || !Number.isFinite(lifetimeS) || lifetimeS <= 0) {
    return { value, expiresAt: null, refreshAt: null };
  }
  const lifetimeMs = lifetimeS * 1000;
  const expiresAt = context.requestedAt + lifetimeMs;
  return { value, expiresAt, refreshAt: expiresAt - Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs * 0.1) };
}

/** JSON as the RFC says; form-encoded as some servers (GitHub) answer; {} when neither. */
function parseBody(response: TokenResponse): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(response.body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
    return {};
  } catch {
    if ((response.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
      return Object.fromEntries(new URLSearchParams(response.body));
    }
    return {};
  }
}

/** ` (invalid_client: Client authentication failed)`, or '' when the body says nothing usable. */
function describeOAuthError(fields: Record<string, unknown>, scrub: (text: string) => string): string {
  const code = typeof fields['error'] === 'string' ? fields['error'] : undefined;
  const description =
    typeof fields['error_description'] === 'string' ? fields['error_description'] : undefined;
  if (code === undefined && description === undefined) return '';
  const text = [code, description].filter((part) => part !== undefined).join(': ');
  return ` (${quote(text, scrub)})`;
}

/** What to do about a refused token request, by OAuth error code (RFC 6749 5.2). */
function hint(code: unknown, context: TokenResponseContext): string {
  switch (code) {
    case 'invalid_client':
      return `check ${context.clientIdEnv}, ${context.clientSecretEnv} and authStyle`;
    case 'invalid_scope':
      return 'check scope';
    case 'unauthorized_client':
    case 'unsupported_grant_type':
      return 'the client is not allowed the client-credentials grant; enable it on the authorization server';
    default:
      return `check tokenUrl, ${context.clientIdEnv}, ${context.clientSecretEnv}, scope and audience`;
  }
}

/** Retry-After in seconds or as an HTTP date, in ms from `now`; undefined when absent or unreadable. */
function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Server-supplied text made fit for a message: scrubbed, on one line, and short. */
function quote(text: string, scrub: (text: string) => string): string {
  return scrub(text).replace(CONTROL_CHARS, ' ').slice(0, MAX_QUOTED);
}
