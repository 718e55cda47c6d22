import { ConfigError } from './errors.ts';

/** Epoch digits at or above this are milliseconds, below it seconds (1e11 s is the year 5138). */
export const EPOCH_MS_FROM = 1e11;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;
export const EPOCH = /^(\d+)(?:\.(\d+))?$/;

/**
 * A cursor value read as a time: whole epoch milliseconds plus the digits below a millisecond
 * (microseconds and finer, trailing zeros dropped), so `12:00:00.000001` still sorts after
 * `12:00:00.000`. Null when the text is not a time.
 */
export interface CursorTime {
  readonly ms: number;
  readonly subMs: string;
}

export function parseCursorTime(text: string): CursorTime | null {
  const trimmed = text.trim();
  const epoch = EPOCH.exec(trimmed);
  if (epoch) {
    const whole = Number(epoch[1]);
    const fraction = epoch[2] ?? '';
    if (!Number.isSafeInteger(whole)) return null;
    if (whole >= EPOCH_MS_FROM) return { ms: whole, subMs: stripZeros(fraction) };
    // Seconds with a fraction (Slack-style `1512085950.000216`): the first three digits are ms.
    const ms = whole * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
    return { ms, subMs: stripZeros(fraction.slice(3)) };
  }
  const iso = ISO.exec(trimmed);
  if (!iso) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = iso;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  const local = Date.UTC(...fields);
  // Date.UTC rolls over (Feb 30 -> Mar 2): a round trip rejects dates that do not exist.
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== fields[0] ||
    check.getUTCMonth() !== fields[1] ||
    check.getUTCDate() !== fields[2] ||
    check.getUTCHours() !== fields[3] ||
    check.getUTCMinutes() !== fields[4] ||
    check.getUTCSeconds() !== fields[5]
  ) {
    return null;
  }
  const ms = local + Number(fraction.slice(0, 3).padEnd(3, '0')) - zoneOffsetMs(zone);
  return { ms, subMs: stripZeros(fraction.slice(3)) };
}

function zoneOffsetMs(zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return (zone.startsWith('-') ? -1 : 1) * minutes * 60_000;
}

function stripZeros(digits: string): string {
  return digits.replace(/0+$/, '');
}

/**
 * Parses a cursor value as a time in epoch milliseconds: ISO 8601 (a time without a zone is UTC),
 * or epoch digits (>= 1e11: milliseconds, else seconds, an optional fraction allowed). Null when
 * the text is not a time (an opaque id, a version number written as text, ...).
 */
export function cursorTimeMs(text: string): number | null {
  return parseCursorTime(text)?.ms ?? null;
}

/**
 * Orders two cursor values: as times when both parse as times (to below the millisecond),
 * otherwise as text by code unit. Negative, zero or positive like a sort comparator.
 */
export function compareCursorText(a: string, b: string): number {
  // The hot path (every record of every page): two UTC ISO times written alike
  // (`2024-05-01T12:00:00.123Z`, same length, same separators) sort as text, exactly as parsed
  // times would; and when either is not a valid time the answer is the text order anyway.
  if (sameUtcIsoLayout(a, b)) return a < b ? -1 : a > b ? 1 : 0;
  const ta = parseCursorTime(a);
  const tb = parseCursorTime(b);
  if (ta && tb) {
    if (ta.ms !== tb.ms) return ta.ms < tb.ms ? -1 : 1;
    const width = Math.max(ta.subMs.length, tb.subMs.length);
    const sa = ta.subMs.padEnd(width, '0');
    const sb = tb.subMs.padEnd(width, '0');
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Both are `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with the same length (so the same fraction width). */
function sameUtcIsoLayout(a: string, b: string): boolean {
  const n = a.length;
  return (
    n >= 20 &&
    n === b.length &&
    a.charCodeAt(n - 1) === 90 && // Z
    b.charCodeAt(n - 1) === 90 &&
    a.charCodeAt(10) === 84 && // T
    b.charCodeAt(10) === 84 &&
    a.charCodeAt(4) === 45 && // -
    b.charCodeAt(4) === 45 &&
    a.charCodeAt(7) === 45 &&
    b.charCodeAt(7) === 45 &&
    a.charCodeAt(13) === 58 && // :
    b.charCodeAt(13) === 58 &&
    a.charCodeAt(16) === 58 &&
    b.charCodeAt(16) === 58 &&
    (n === 20 || (a.charCodeAt(19) === 46 && b.charCodeAt(19) === 46)) // . before a fraction
  );
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Reads a duration: a number of milliseconds, or text with one unit (`250ms`, `90s`, `15m`, `1h`,
 * `7d`; decimals allowed, `1.5h`); bare digits in text are milliseconds. Throws a ConfigError
 * on anything else, including negative or non-finite values.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new ConfigError(`invalid duration ${value}: expected a non-negative number of milliseconds`);
  }
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) {
    throw new ConfigError(
      `invalid duration "${value}": write milliseconds as a number, or a number with one unit ` +
        'of ms, s, m, h or d (e.g. "90s", "15m", "1h", "7d")',
    );
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!);
}
