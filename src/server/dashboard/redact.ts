import { redactUrl } from '../../core/redact-url.ts';

/** What a masked value shows. */
export const MASKED = '••••';

/** Keys whose values are secrets, whatever they hold. */
const SECRET_KEY = /pass|secret|token|api[-_]?key|auth|cookie|session|signature|credential|private/i;

/** A URL that carries credentials: `user:password@` or a password query parameter. */
const URL_WITH_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/@\s]*:[^/@\s]*@|[^\s]*[?&](?:ssl)?password=)/i;

/**
 * `value` (a record, an event: parsed JSON) with what reads as a secret masked, for a page to show:
 * the value of every key named like a secret (`password`, `apiKey`, `auth_token`...) becomes
 * `••••`, and strings that are URLs with credentials lose their password (`redactUrl`). Everything
 * else is copied as is; `value` is not changed.
 */
export function maskSecrets(value: unknown): unknown {
  if (typeof value === 'string') return URL_WITH_CREDENTIALS.test(value) ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) && inner !== null && inner !== undefined ? MASKED : maskSecrets(inner);
    }
    return out;
  }
  return value;
}
