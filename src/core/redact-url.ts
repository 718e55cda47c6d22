/**
 * Connection URLs carry passwords; these helpers make a URL safe to print. Nothing that reaches a
 * log, an error message or a terminal should hold the password.
 */

const MASK = '***';
/** Query parameters libpq accepts that hold secrets. */
const SECRET_PARAMS = ['password', 'sslpassword'];

/**
 * The URL with its password (and secret query parameters) replaced by `***`. A string that does
 * not parse as a URL is still scrubbed of anything between `user:` and `@`.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url
      .replace(/(\/\/[^:/@\s]*:)[^@\s]*@/, `$1${MASK}@`)
      .replace(/((?:^|[?&])(?:ssl)?password=)[^&\s]*/gi, `$1${MASK}`);
  }
  if (parsed.password !== '') parsed.password = MASK;
  for (const name of SECRET_PARAMS) {
    if (parsed.searchParams.has(name)) parsed.searchParams.set(name, MASK);
  }
  return parsed.toString();
}

/** Removes every occurrence of `secret` (raw and URL-decoded) from `text`. */
export function scrubSecret(text: string, secret: string): string {
  if (secret.length === 0) return text;
  let out = text;
  for (const s of new Set([secret, safeDecode(secret)])) {
    if (s.length > 0) out = out.split(s).join(MASK);
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The URL without its credentials, and the credentials (decoded), for clients that take them apart
 * (nats.js): `nats://u:p@host:4222` -> `nats://host:4222`, `u`, `p`. A string that does not parse as
 * a URL is given back whole, with no credentials.
 */
export function splitCredentials(url: string): { servers: string; user: string; pass: string } {
  try {
    const parsed = new URL(url);
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    parsed.username = '';
    parsed.password = '';
    return { servers: `${parsed.protocol}//${parsed.host}`, user, pass };
  } catch {
    return { servers: url, user: '', pass: '' };
  }
}

/** A user and password, or a token: how a client that takes credentials apart (nats.js) is given them. */
export type Credentials = { readonly token: string } | { readonly user: string; readonly pass: string };

/**
 * The credentials to connect with: those configured (`auth`), else the URL's (`nats://token@host`:
 * a user without a password is a token), else none.
 */
export function connectCredentials(
  url: string,
  auth: Credentials | null | undefined,
): Credentials | Record<string, never> {
  if (auth) return 'token' in auth ? { token: auth.token } : { user: auth.user, pass: auth.pass };
  const { user, pass } = splitCredentials(url);
  if (user === '') return {};
  return pass !== '' ? { user, pass } : { token: user };
}
