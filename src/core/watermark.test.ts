import { describe, expect, it } from 'vitest';
import { FatalError } from './errors.ts';
import { compareWatermarks, IncrementalWatermark, type Watermark } from './watermark.ts';

const iso = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
const at = (cursor: string, id: string | null = null): Watermark => ({ cursor, id });

describe('compareWatermarks', () => {
  it('orders by cursor time, then id: as numbers when both are decimal numbers, else as text', () => {
    expect(compareWatermarks(at('1700000000', 'b'), at('2023-11-14T22:13:20Z', 'a'))).toBe(1);
    expect(compareWatermarks(at(iso(1), 'b'), at(iso(2), 'a'))).toBe(-1);
    expect(compareWatermarks(at(iso(1), '9'), at(iso(1), '10'))).toBeLessThan(0);
    expect(compareWatermarks(at(iso(1), '99'), at(iso(1), '100'))).toBeLessThan(0);
    expect(compareWatermarks(at(iso(1), '10'), at(iso(1), '10'))).toBe(0);
    expect(compareWatermarks(at(iso(1), 'cus_9'), at(iso(1), 'cus_10'))).toBeGreaterThan(0);
  });

  it('compares cursor values as times across notations and below the millisecond, else as text', () => {
    // The same instant in epoch seconds, epoch milliseconds, and ISO with an offset.
    expect(compareWatermarks(at('1767225600'), at('1767225600000'))).toBe(0);
    expect(compareWatermarks(at('2026-01-01T01:00:00+01:00'), at('2026-01-01T00:00:00Z'))).toBe(0);
    expect(compareWatermarks(at('2026-01-01T00:00:00.000001Z'), at('2026-01-01T00:00:00Z'))).toBe(1);
    // Numbers written as epoch digits order numerically, whatever their width.
    expect(compareWatermarks(at('9'), at('10'))).toBe(-1);
    // Values that are not times compare as text.
    expect(compareWatermarks(at('v-b'), at('v-a'))).toBe(1);
  });

  it('orders ids as the source says: as text or as numbers when tieBreakerType is given', () => {
    expect(compareWatermarks(at(iso(1), '9'), at(iso(1), '10'), 'string')).toBeGreaterThan(0);
    expect(compareWatermarks(at(iso(1), '9'), at(iso(1), '10'), 'number')).toBeLessThan(0);
    expect(() => compareWatermarks(at(iso(1), '9'), at(iso(1), 'cus_1'), 'number')).toThrow(FatalError);
  });

  it('puts a null id (a watermark capped by the safety lag) before every id at its cursor value', () => {
    expect(compareWatermarks(at(iso(1)), at(iso(1), '1'))).toBe(-1);
    expect(compareWatermarks(at(iso(1), '1'), at(iso(1)))).toBe(1);
    expect(compareWatermarks(at(iso(1)), at(iso(1)))).toBe(0);
    expect(compareWatermarks(at(iso(2)), at(iso(1), '1'))).toBe(1);
  });
});

describe('IncrementalWatermark', () => {
  const record = (s: number, id: number | string) => ({ id, meta: { updated_at: iso(s) } });

  it("reads a record's position at dotted paths, as text; without a tie-breaker the id is null", () => {
    const w = new IncrementalWatermark({ cursor: 'meta.updated_at', tieBreaker: 'id' });
    expect(w.of(record(3, 42))).toEqual({ cursor: iso(3), id: '42' });
    expect(w.of({ id: 1 })).toBeNull();
    expect(new IncrementalWatermark({ cursor: 'meta.updated_at' }).of(record(3, 42))).toEqual(at(iso(3)));
  });

  it('starts a pass at the watermark itself, or from the beginning when there is none', () => {
    const w = new IncrementalWatermark({ cursor: 'updated_at', tieBreaker: 'id' });
    expect(w.start(at(iso(10), '7'))).toEqual(at(iso(10), '7'));
    expect(w.start(null)).toBeNull();
  });

  it('starts a pass the lookback before the watermark, at that time inclusive', () => {
    const w = new IncrementalWatermark({ cursor: 'updated_at', tieBreaker: 'id', lookbackMs: 60_000 });
    expect(w.start(at('2026-01-01T00:10:00.000Z', '7'))).toEqual(at('2026-01-01T00:09:00.000Z'));
    // Epoch cursors are times too; the start is written as an ISO time.
    expect(w.start(at('1767225600', '7'))).toEqual(at('2025-12-31T23:59:00.000Z'));
    // A cursor that is not a time cannot be moved back: the pass starts after the watermark.
    expect(w.start(at('v-10', '7'))).toEqual(at('v-10', '7'));
  });

  it('drops what lies at or before the watermark, for an API that filters only with >=', () => {
    const w = new IncrementalWatermark({ cursor: 'meta.updated_at', tieBreaker: 'id' });
    // The API answers `updated_at >= 5` again: ids 9 and 10 at 5 were handed over up to 10.
    const answer = [record(5, 9), record(5, 10), record(5, 11), record(6, 1), { id: 99 }];
    expect(w.after(answer, at(iso(5), '10'))).toEqual([record(5, 11), record(6, 1), { id: 99 }]);
    // Ids compare as numbers: 100 is after 99 even though "100" < "99" as text.
    expect(w.after([record(5, 100)], at(iso(5), '99'))).toEqual([record(5, 100)]);
    // A capped watermark (null id) keeps the whole tie group at its cursor value.
    expect(w.after([record(5, 1), record(4, 2)], at(iso(5)))).toEqual([record(5, 1)]);
    expect(w.after(answer, null)).toEqual(answer);
  });

  it('drops ties by text order when the source orders its ids as text', () => {
    const w = new IncrementalWatermark({
      cursor: 'meta.updated_at',
      tieBreaker: 'id',
      tieBreakerType: 'string',
    });
    expect(w.after([record(5, '100'), record(5, '990')], at(iso(5), '99'))).toEqual([record(5, '990')]);
  });

  it('moves to the newest position handed over, never backwards', () => {
    const w = new IncrementalWatermark({ cursor: 'meta.updated_at', tieBreaker: 'id' });
    expect(w.advance(null, [record(2, 5), record(3, 1), record(3, 2), record(1, 9)])).toEqual(
      at(iso(3), '2'),
    );
    expect(w.advance(at(iso(4), '1'), [record(3, 1)])).toEqual(at(iso(4), '1'));
    expect(w.advance(at(iso(4), '1'), [{ id: 7 }])).toEqual(at(iso(4), '1'));
    expect(w.advance(null, [])).toBeNull();
  });

  it('never moves past now minus the safety lag: a newer position is capped there with a null id', () => {
    const now = Date.parse(iso(100));
    const w = new IncrementalWatermark({
      cursor: 'meta.updated_at',
      tieBreaker: 'id',
      safetyLagMs: 30_000,
      now: () => now,
    });
    // 95 s is within the last 30 s: the watermark stops at 70 s, inclusive.
    expect(w.advance(at(iso(10), '1'), [record(95, 4)])).toEqual(at(iso(70)));
    // Records older than the cap move it as usual.
    expect(w.advance(null, [record(60, 4)])).toEqual(at(iso(60), '4'));
    // A watermark already past the cap (the lag was raised since) does not move back.
    expect(w.advance(at(iso(80), '3'), [record(95, 4)])).toEqual(at(iso(80), '3'));
    // A cursor that is not a time cannot be capped.
    expect(w.advance(null, [{ id: 1, meta: { updated_at: 'v-9' } }])).toEqual(at('v-9', '1'));
  });
});
