import { redactUrl } from '../../core/redact-url.ts';

/**
 * What the dashboard shows of values it does not know the shape of (checkpoints, a backfill's
 * evidence, records, dead letters' payloads): the same value with secrets hidden. A field named like
 * a secret has its value replaced by `MASK`; a string holding a URL loses the URL's password and
 * its secret query parameters.
 */

/** What a hidden value is shown as. */
export const MASK = '••••';

/**
 * Names of fields that hold secrets. `auth` matches `authorization` and `oauth` but not `author`
 * (a common field of records that holds no secret).
 */
const SECRET_NAME =
  /pass|secret|token|api[-_]?key|auth(?!or(?!i[sz]))|cookie|session|signature|credential|private/i;

/** URLs inside a string: a scheme, `://`, then anything up to a space or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Nesting deeper than this is cut (shown as `MASK`): values come from sources, not from us. */
const MAX_DEPTH = 64;

/** Whether a field of this name holds a secret (its value is never shown). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** `text` with every URL in it stripped of its password and secret query parameters. */
export function maskString(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, maskUrl);
}

/** One URL without its password or the values of query parameters named like secrets. */
function maskUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactUrl(url);
  }
  const secretParams = [...parsed.searchParams.keys()].filter(isSecretName);
  if (parsed.password === '' && secretParams.length === 0) return url;
  const redacted = new URL(redactUrl(url));
  if (redacted.password !== '') redacted.password = MASK;
  for (const name of secretParams) redacted.searchParams.set(name, MASK);
  // URLSearchParams encodes the mask; it reads better as it is.
  return redacted.toString().replaceAll(encodeURIComponent(MASK), MASK);
}

/**
 * `value` (JSON-like: objects, arrays, strings, numbers...) with the values of fields named like
 * secrets replaced by `MASK` and URLs in strings stripped of their credentials. A new value: the
 * argument is not changed. Cycles and very deep nesting are cut.
 */
export function maskSecrets(value: unknown): unknown {
  return mask(value, 0, new WeakSet());
}

function mask(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return maskString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return MASK;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => mask(item, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) {
      out[name] = isSecretName(name) && item !== null ? MASK : mask(item, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
