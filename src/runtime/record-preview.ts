import { scrubSecret } from '../core/redact-url.ts';

/** Field names whose values are credentials, by their ending (compared without case, `_` and `-`). */
const SECRET_FIELDS =
  /(password|passwd|passphrase|secret|token|apikey|authorization|credential|privatekey|cookie)s?$/;

/**
 * Shortest secret value masked where it appears: a shorter one (a placeholder like `x`) would mask
 * ordinary text, and no real credential is that short.
 */
const MIN_SECRET = 6;

/** Longest string kept whole, items kept of an array, fields kept of an object, levels kept. */
const MAX_STRING = 80;
const MAX_ITEMS = 5;
const MAX_FIELDS = 20;
const MAX_DEPTH = 3;

/**
 * A copy of a record that is safe and short to print (`syncline check --probe`): values of fields
 * named like credentials become `***`, as does any occurrence of the `secrets` given (the values of
 * the source's secret environment variables, which an API may echo back); long strings, arrays,
 * objects and deep nesting are cut, saying how much was left out.
 */
export function recordPreview(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof value === 'string') {
    let text = value;
    for (const secret of secrets) if (secret.length >= MIN_SECRET) text = scrubSecret(text, secret);
    return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}... (${text.length} chars)` : text;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `[${value.length} items]` : '{...}';
  if (Array.isArray(value)) {
    const shown = value.slice(0, MAX_ITEMS).map((item) => recordPreview(item, secrets, depth + 1));
    return value.length > MAX_ITEMS ? [...shown, `... ${value.length - MAX_ITEMS} more`] : shown;
  }
  const entries = Object.entries(value);
  const out: Record<string, unknown> = {};
  for (const [field, item] of entries.slice(0, MAX_FIELDS)) {
    const secretName = SECRET_FIELDS.test(field.toLowerCase().replace(/[-_]/g, ''));
    out[field] = secretName && item !== null && item !== '' ? '***' : recordPreview(item, secrets, depth + 1);
  }
  if (entries.length > MAX_FIELDS) out['...'] = `${entries.length - MAX_FIELDS} more fields`;
  return out;
}
