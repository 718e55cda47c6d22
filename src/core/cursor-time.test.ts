import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCursorText, parseCursorTime } from './cursor-time.ts';

/** The order of two cursor values worked out the slow way: parsed times, else text. */
function slowCompare(a: string, b: string): number {
  const ta = parseCursorTime(a);
  const tb = parseCursorTime(b);
  if (ta && tb) {
    if (ta.ms !== tb.ms) return ta.ms < tb.ms ? -1 : 1;
    const width = Math.max(ta.subMs.length, tb.subMs.length);
    const [sa, sb] = [ta.subMs.padEnd(width, '0'), tb.subMs.padEnd(width, '0')];
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

const digits = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
/** UTC ISO-like texts, valid or not (months 00-99, Feb 30, ...), with 0 to 6 fraction digits. */
const isoLike = fc
  .tuple(
    digits(4),
    digits(2),
    digits(2),
    digits(2),
    digits(2),
    digits(2),
    fc.integer({ min: 0, max: 6 }),
    digits(6),
  )
  .map(([y, mo, d, h, mi, s, width, fraction]) => {
    const part = width === 0 ? '' : `.${fraction.slice(0, width)}`;
    return `${y}-${mo}-${d}T${h}:${mi}:${s}${part}Z`;
  });

describe('compareCursorText', () => {
  it('orders UTC ISO times written alike as the parsed times would, valid or not', () => {
    fc.assert(
      fc.property(isoLike, isoLike, (a, b) => {
        expect(Math.sign(compareCursorText(a, b))).toBe(Math.sign(slowCompare(a, b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('still compares differently written times as times', () => {
    expect(compareCursorText('2024-05-01T12:00:00.5Z', '2024-05-01T12:00:00.123Z')).toBe(1);
    expect(compareCursorText('2024-05-01T12:00:00Z', '2024-05-01T11:00:00.000-02:00')).toBe(-1);
    expect(compareCursorText('2024-05-01T12:00:00.000001Z', '2024-05-01T12:00:00.000Z')).toBe(1);
    expect(compareCursorText('1714564800000', '2024-05-01T12:00:00.000Z')).toBe(0);
  });
});
