import type { RateBudget } from '../../core/source.ts';

/**
 * `Retry-After` in ms from now: delta-seconds (`120`) or an HTTP-date. Undefined when absent or
 * unreadable; negative waits become 0 (the caller applies its floor).
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The budget an API reports in `X-RateLimit-Limit/Remaining/Reset` (or the IETF `RateLimit-*`
 * names). Reset is read as epoch seconds when it is a large number, else as seconds from now.
 */
export function parseRateBudget(
  headers: Readonly<Record<string, string>>,
  now = Date.now(),
): RateBudget | null {
  const pick = (name: string) => headers[`x-ratelimit-${name}`] ?? headers[`ratelimit-${name}`];
  const remaining = numberOrUndefined(pick('remaining'));
  const limit = numberOrUndefined(pick('limit'));
  const reset = numberOrUndefined(pick('reset'));
  if (remaining === undefined && limit === undefined) return null;
  const resetAtMs = reset === undefined ? undefined : reset > 1e9 ? reset * 1000 : now + reset * 1000;
  return {
    ...(remaining !== undefined ? { remaining } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(resetAtMs !== undefined ? { resetAtMs } : {}),
  };
}

function numberOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.split(',')[0]);
  return Number.isFinite(n) ? n : undefined;
}
