import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import {
  compareCursorText,
  cursorTimeMs,
  formatCursor,
  formatCursorText,
  parseDuration,
} from './cursor-format.ts';

const T = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

describe('cursorTimeMs', () => {
  it('reads ISO 8601 with Z, offsets, no zone (UTC), date only and sub-millisecond digits', () => {
    expect(cursorTimeMs('2024-01-02T03:04:05.678Z')).toBe(T);
    expect(cursorTimeMs('2024-01-02T05:04:05.678+02:00')).toBe(T);
    expect(cursorTimeMs('2024-01-02T01:04:05.678-0200')).toBe(T);
    expect(cursorTimeMs('2024-01-02T03:04:05.678')).toBe(T);
    expect(cursorTimeMs('2024-01-02 03:04:05.678901Z')).toBe(T);
    expect(cursorTimeMs('2024-01-02')).toBe(Date.UTC(2024, 0, 2));
    expect(cursorTimeMs('2024-01-02T03:04Z')).toBe(Date.UTC(2024, 0, 2, 3, 4));
  });

  it('reads epoch digits as milliseconds from 1e11 and as seconds below, with fractions', () => {
    expect(cursorTimeMs(String(T))).toBe(T);
    expect(cursorTimeMs('1704164645')).toBe(1704164645000);
    expect(cursorTimeMs('1704164645.678901')).toBe(1704164645678);
    expect(cursorTimeMs('99999999999')).toBe(99999999999000);
    expect(cursorTimeMs('100000000000')).toBe(100000000000);
  });

  it('is null for values that are not times', () => {
    for (const text of [
      '',
      'cus_000000042',
      '2024-02-30',
      '2024-13-01',
      '2024-01-01T25:00:00Z',
      'abc',
      '-5',
      '1e9',
    ])
      expect(cursorTimeMs(text)).toBeNull();
  });
});

describe('compareCursorText', () => {
  it('compares times as times, below the millisecond, across formats and zones', () => {
    expect(compareCursorText('2024-01-02T03:04:05.678Z', String(T))).toBe(0);
    expect(compareCursorText('2024-01-02T05:04:05.678+02:00', '2024-01-02T03:04:05.678Z')).toBe(0);
    expect(compareCursorText('2024-01-02T03:04:05.678001Z', '2024-01-02T03:04:05.678Z')).toBe(1);
    expect(compareCursorText('2024-01-02T03:04:05.6780Z', '2024-01-02T03:04:05.678Z')).toBe(0);
    expect(compareCursorText('9', '10')).toBe(-1); // both epoch seconds
  });

  it('falls back to code-unit text order when either is not a time', () => {
    expect(compareCursorText('b', 'a')).toBe(1);
    expect(compareCursorText('v10', 'v9')).toBe(-1);
  });

  it('agrees with time order for any two ISO millisecond times', () => {
    const time = fc.integer({ min: 0, max: 4102444800000 });
    fc.assert(
      fc.property(time, time, (a, b) => {
        const got = compareCursorText(new Date(a).toISOString(), new Date(b).toISOString());
        expect(got).toBe(Math.sign(a - b));
      }),
    );
  });
});

describe('formatCursor and formatCursorText', () => {
  it('writes ISO, whole seconds (rounded down) and milliseconds', () => {
    expect(formatCursor(T, 'iso')).toBe('2024-01-02T03:04:05.678Z');
    expect(formatCursor(T, 'epoch_s')).toBe('1704164645');
    expect(formatCursor(T, 'epoch_ms')).toBe(String(T));
    expect(() => formatCursor(Number.NaN, 'iso')).toThrow(RangeError);
  });

  it('passes a value already in the request format through unchanged, and non-times too', () => {
    expect(formatCursorText('2024-01-02T05:04:05.678901+02:00', 'iso')).toBe(
      '2024-01-02T05:04:05.678901+02:00',
    );
    expect(formatCursorText('1704164645', 'epoch_s')).toBe('1704164645');
    expect(formatCursorText(String(T), 'epoch_ms')).toBe(String(T));
    expect(formatCursorText('opaque-42', 'epoch_ms')).toBe('opaque-42');
  });

  it('re-expresses times in another format', () => {
    expect(formatCursorText('2024-01-02T03:04:05.678Z', 'epoch_ms')).toBe(String(T));
    expect(formatCursorText('2024-01-02T03:04:05.678Z', 'epoch_s')).toBe('1704164645');
    expect(formatCursorText('1704164645', 'iso')).toBe('2024-01-02T03:04:05.000Z');
    expect(formatCursorText(String(T), 'epoch_s')).toBe('1704164645');
  });

  it('round-trips any time through every format to the same time, up to the unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4102444800000 }), (ms) => {
        expect(cursorTimeMs(formatCursor(ms, 'iso'))).toBe(ms);
        expect(cursorTimeMs(formatCursor(ms, 'epoch_ms'))).toBe(ms >= 1e11 ? ms : Math.floor(ms) * 1000);
        expect(cursorTimeMs(formatCursor(ms, 'epoch_s'))).toBe(Math.floor(ms / 1000) * 1000);
      }),
    );
  });
});

describe('parseDuration', () => {
  it('reads numbers as milliseconds and text with one unit', () => {
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('500')).toBe(500);
    expect(parseDuration(' 2 m ')).toBe(120_000);
  });

  it('throws a ConfigError naming the bad value', () => {
    for (const bad of ['', 'soon', '1w', '-5s', '1h30m', Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expect(() => parseDuration(bad)).toThrow(ConfigError);
    }
    expect(() => parseDuration('soon')).toThrow(/"soon"/);
  });
});
