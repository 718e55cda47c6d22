import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { hasBearerToken } from '../bearer-token.ts';

/** The dashboard's session cookie: HttpOnly, SameSite=Strict, signed with a key derived from the token. */
export const SESSION_COOKIE = 'syncline_session';
/** How long a login lasts. */
export const SESSION_SECONDS = 12 * 60 * 60;
/** The header (htmx sends it on every request) or form field that carries the CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

/**
 * Who may see the dashboard and act on it. With the API token: a request carrying it as a bearer
 * header, or the session cookie the login form sets (its value an expiry and an HMAC of it under a
 * key derived from the token, so any worker with the same token accepts it and nothing is stored).
 * Without a token (loopback only): everyone. Actions from a page also need the CSRF token bound to
 * the session, so another site cannot make the browser act (SameSite=Strict stops most of it; the
 * token stops the rest, and a dashboard without a login too).
 */
export class DashboardAuth {
  readonly #token: string | null;
  readonly #key: Buffer;

  constructor(token: string | null) {
    this.#token = token;
    // Without a token, a key of this process: its CSRF tokens are good until it restarts.
    this.#key =
      token === null
        ? randomBytes(32)
        : createHash('sha256').update(`syncline-dashboard\0${token}`, 'utf8').digest();
  }

  /** Whether a login is asked for at all. */
  get required(): boolean {
    return this.#token !== null;
  }

  /** Whether the token given on the login form is the API token. */
  tokenMatches(given: string): boolean {
    return this.#token !== null && hasBearerToken(`Bearer ${given.trim() || '-'}`, this.#token);
  }

  /** A fresh session cookie's value, good for `SESSION_SECONDS`. */
  newSession(nowMs = Date.now()): string {
    const expires = Math.floor(nowMs / 1000) + SESSION_SECONDS;
    return `${expires}.${this.#sign(`session:${expires}`)}`;
  }

  /**
   * The caller, or null when not allowed: `bearer` (the API token as a header: no CSRF needed, a
   * browser does not send it on its own), `session` (the cookie) or `open` (no token configured).
   */
  identify(c: Context, nowMs = Date.now()): { kind: 'bearer' | 'session' | 'open'; session: string } | null {
    if (this.#token === null) return { kind: 'open', session: 'open' };
    if (hasBearerToken(c.req.header('authorization'), this.#token))
      return { kind: 'bearer', session: 'bearer' };
    const cookie = getCookie(c, SESSION_COOKIE) ?? '';
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
    if (!match) return null;
    const expires = Number(match[1]);
    if (expires * 1000 <= nowMs) return null;
    if (!safeEqual(match[2]!, this.#sign(`session:${expires}`))) return null;
    return { kind: 'session', session: cookie };
  }

  /** The CSRF token of a session: what its pages embed and its actions must send back. */
  csrfToken(session: string): string {
    return this.#sign(`csrf:${session}`);
  }

  csrfMatches(session: string, given: string | undefined): boolean {
    return given !== undefined && safeEqual(given, this.csrfToken(session));
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#key).update(text, 'utf8').digest('base64url');
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Whether a state-changing request comes from this origin: a browser sends `Origin` on every POST
 * (and `Sec-Fetch-Site`); a tool that sends neither (curl with the bearer token) passes.
 */
export function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}
