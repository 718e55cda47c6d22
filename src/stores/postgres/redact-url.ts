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

/**
 * `host:port/database` of a PostgreSQL URL, for messages: libpq's defaults fill what the URL leaves
 * out (host `localhost`, port 5432, database named after the user). Never includes credentials.
 */
export function pgTarget(url: URL): string {
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  const port = url.port || url.searchParams.get('port') || '5432';
  const database =
    decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
  return `${host}:${port}/${database}`;
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
