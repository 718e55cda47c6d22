import {
  compareCursorText,
  cursorTimeMs,
  EPOCH,
  EPOCH_MS_FROM,
  parseCursorTime,
  parseDuration,
} from '../../core/cursor-time.ts';

export { compareCursorText, cursorTimeMs, parseDuration };

/**
 * How cursor values are written into request parameters:
 * - `iso`: ISO 8601 in UTC with milliseconds (`2024-01-01T00:00:00.000Z`);
 * - `epoch_s`: whole seconds since 1970 (rounded down, so a lower bound never overshoots);
 * - `epoch_ms`: whole milliseconds since 1970.
 */
export type CursorFormat = 'iso' | 'epoch_s' | 'epoch_ms';

/** Writes epoch milliseconds in a request format; fractions of the unit are dropped (rounded down). */
export function formatCursor(ms: number, format: CursorFormat): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format ${ms} as a cursor time`);
  switch (format) {
    case 'iso':
      return new Date(Math.floor(ms)).toISOString();
    case 'epoch_s':
      return String(Math.floor(ms / 1000));
    case 'epoch_ms':
      return String(Math.floor(ms));
  }
}

/**
 * Re-expresses a stored cursor value in the request format. A value already in that format passes
 * through unchanged (so microseconds and the API's own zone notation survive the round trip);
 * values that are not times (opaque ids, counters) pass through as they are.
 */
export function formatCursorText(text: string, format: CursorFormat): string {
  const time = parseCursorTime(text);
  if (time === null) return text;
  const epoch = EPOCH.exec(text.trim());
  if (format === 'iso' && !epoch) return text;
  if (epoch && epoch[2] === undefined) {
    const isMs = Number(epoch[1]) >= EPOCH_MS_FROM;
    if ((format === 'epoch_ms' && isMs) || (format === 'epoch_s' && !isMs)) return text;
  }
  return formatCursor(time.ms, format);
}
