import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FatalError } from '../../../core/errors.ts';
import { createPaginator, type KeysetPagination, type PaginatorOptions } from './create-paginator.ts';
import {
  byCursorThenId,
  FakeListApi,
  type FakeRecord,
  fakeOptions,
  ids,
  pageOf,
  walkPages,
} from './paginator-test-kit.ts';

const AFTER_ID: KeysetPagination = { type: 'keyset', afterIdParam: 'after_id', hasMorePath: 'has_more' };
const GTE_OFFSET: KeysetPagination = { type: 'keyset', offsetParam: 'offset' };
const GTE_DOUBLING: KeysetPagination = { type: 'keyset' };
const MODES = {
  after_id: AFTER_ID,
  '>= with offset': GTE_OFFSET,
  '>= doubling the page, with has_more': { type: 'keyset', hasMorePath: 'has_more' },
  '>= doubling the page, without has_more': GTE_DOUBLING,
} satisfies Record<string, KeysetPagination>;

/**
 * Without has_more, a doubled request answered short is ambiguous (the end of the data, or a
 * capped page size): the paginator may then refuse with this error, but must never skip.
 */
const AMBIGUOUS = /seems to cap the page size/;

/** Runs `walk`; an ambiguity error is accepted (returns null) only in the mode without has_more. */
function walkOrRefuse<T>(config: KeysetPagination, walk: () => T): T | null {
  try {
    return walk();
  } catch (error) {
    if (config === GTE_DOUBLING && error instanceof FatalError && AMBIGUOUS.test(error.message)) return null;
    throw error;
  }
}

const BASE = Date.UTC(2023, 5, 1);
const iso = (second: number) => new Date(BASE + second * 1000).toISOString();

/** Records with few distinct cursor values: heavy ties, groups larger than most pages. */
const tiedRecords = fc
  .array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 60 })
  .map((seconds) =>
    seconds.map((s, i): FakeRecord => ({ id: `r${String(i).padStart(3, '0')}`, updated_at: iso(s) })),
  );

function keyset(config: KeysetPagination, options: PaginatorOptions) {
  return createPaginator(config, options);
}

describe('KeysetPaginator', () => {
  it('needs a since-parameter, a cursor field and an id field', () => {
    for (const patch of [{ sinceParam: null }, { cursorField: null }, { idField: null }]) {
      expect(() => keyset(AFTER_ID, fakeOptions(10, patch))).toThrow(ConfigError);
    }
  });

  it('starts a full pass without a since-parameter and continues after the last tuple', () => {
    const p = keyset(AFTER_ID, fakeOptions(2));
    expect(p.first(null)).toEqual({ query: { limit: '2' } });
    const records = [
      { id: 'a', updated_at: iso(1) },
      { id: 'b', updated_at: iso(2) },
    ];
    const step = p.next(pageOf(records, { data: records, has_more: true }), p.first(null));
    expect(step.next).toEqual({ query: { limit: '2', updated_since: iso(2), after_id: 'b' } });
    expect(step.position).toEqual({ cursor: iso(2), id: 'b', offset: 0, limit: 2 });
  });

  it('starts an incremental pass strictly after (cursor, afterId), or at the cursor inclusive', () => {
    const p = keyset(AFTER_ID, fakeOptions(5));
    expect(p.first({ param: '1685577601', cursor: iso(1), afterId: 'r7' }).query).toEqual({
      limit: '5',
      updated_since: '1685577601',
      after_id: 'r7',
    });
    expect(p.first({ param: iso(1), cursor: iso(1) }).query).toEqual({ limit: '5', updated_since: iso(1) });
  });

  it('writes the continuation in the configured format', () => {
    const p = keyset(AFTER_ID, fakeOptions(1, { format: 'epoch_ms' }));
    const r = { id: 'a', updated_at: iso(3) };
    const step = p.next(pageOf([r], { data: [r], has_more: true }), p.first(null));
    expect(step.next?.query.updated_since).toBe(String(BASE + 3000));
  });

  for (const [mode, config] of Object.entries(MODES)) {
    it(`hands over every record exactly once over heavy ties and any page size (${mode})`, () => {
      fc.assert(
        fc.property(tiedRecords, fc.integer({ min: 1, max: 7 }), (records, pageSize) => {
          const api = new FakeListApi(records);
          const p = keyset(config, fakeOptions(pageSize));
          const walk = walkOrRefuse(config, () => walkPages(p, p.first(null), (plan) => api.keyset(plan)));
          if (walk !== null) expect(ids(walk.records)).toEqual(ids(api.records));
        }),
      );
    });

    it(`resumes at every position exactly where the uninterrupted walk went on (${mode})`, () => {
      fc.assert(
        fc.property(tiedRecords, fc.integer({ min: 1, max: 7 }), (records, pageSize) => {
          const api = new FakeListApi(records);
          const p = keyset(config, fakeOptions(pageSize));
          const walk = walkOrRefuse(config, () => walkPages(p, p.first(null), (plan) => api.keyset(plan)));
          walk?.positions.forEach((position, i) => {
            const resumed = keyset(config, fakeOptions(pageSize));
            const plan = resumed.resume(JSON.parse(JSON.stringify(position)));
            expect(plan).toEqual(walk.plans[i]);
            const rest = walkPages(resumed, plan, (q) => api.keyset(q));
            expect([...walk.records.slice(0, walk.handedAfter[i]), ...rest.records]).toEqual(walk.records);
          });
        }),
        { numRuns: 60 },
      );
    });

    it(`starts an incremental pass after (cursor, afterId) without skipping or repeating (${mode})`, () => {
      fc.assert(
        fc.property(
          tiedRecords,
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 0, max: 4 }),
          fc.option(fc.integer({ min: 0, max: 59 })),
          (records, pageSize, second, after) => {
            const api = new FakeListApi(records);
            const afterId = after === null ? undefined : `r${String(after).padStart(3, '0')}`;
            const start = { param: iso(second), cursor: iso(second), ...(afterId ? { afterId } : {}) };
            const p = keyset(config, fakeOptions(pageSize));
            const walk = walkOrRefuse(config, () => walkPages(p, p.first(start), (plan) => api.keyset(plan)));
            if (walk === null) return;
            const bound = { id: afterId ?? '', updated_at: iso(second) };
            const expected = api.records.filter((r) =>
              afterId === undefined ? r.updated_at >= bound.updated_at : byCursorThenId(r, bound) > 0,
            );
            expect(ids(walk.records)).toEqual(ids(expected));
          },
        ),
      );
    });
  }

  it('pages inside a tie group larger than a page with the offset parameter (>= only)', () => {
    const records = Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, updated_at: iso(1) }));
    const p = keyset(GTE_OFFSET, fakeOptions(2));
    const api = new FakeListApi(records);
    const walk = walkPages(p, p.first(null), (plan) => api.keyset(plan));
    expect(walk.plans.map((plan) => plan.query)).toEqual([
      { limit: '2', updated_since: iso(1), offset: '2' },
      { limit: '2', updated_since: iso(1), offset: '4' },
    ]);
    expect(ids(walk.records)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('doubles the page inside a tie group without an offset parameter, then returns to pageSize', () => {
    const records = [
      ...Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, updated_at: iso(1) })),
      ...Array.from({ length: 4 }, (_, i) => ({ id: `s${i}`, updated_at: iso(2 + i) })),
    ];
    const p = keyset(GTE_DOUBLING, fakeOptions(2));
    const api = new FakeListApi(records);
    const walk = walkPages(p, p.first(null), (plan) => api.keyset(plan));
    expect(walk.plans.map((plan) => plan.query.limit)).toEqual(['4', '8', '2', '2']);
    expect(ids(walk.records)).toEqual(ids(api.records));
  });

  it('throws naming the cursor value when an API that caps the page size meets a big tie group', () => {
    const records = Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, updated_at: iso(1) }));
    const p = keyset(GTE_DOUBLING, fakeOptions(3));
    const api = new FakeListApi(records, 3);
    expect(() => walkPages(p, p.first(null), (plan) => api.keyset(plan))).toThrow(FatalError);
    const q = keyset({ type: 'keyset', hasMorePath: 'has_more' }, fakeOptions(3));
    expect(() => walkPages(q, q.first(null), (plan) => api.keyset(plan))).toThrow(
      new RegExp(`updated_at = ${iso(1)}`),
    );
  });

  it('throws when the tie group outgrows the largest page it will ask for', () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({
      id: `r${String(i).padStart(5, '0')}`,
      updated_at: iso(1),
    }));
    const p = keyset(GTE_DOUBLING, fakeOptions(1000));
    const api = new FakeListApi(records);
    expect(() => walkPages(p, p.first(null), (plan) => api.keyset(plan))).toThrow(
      /at least 8000 records share updated_at/,
    );
  });

  it('throws instead of looping when the API ignores the watermark', () => {
    const records = [
      { id: 'a', updated_at: iso(1) },
      { id: 'b', updated_at: iso(1) },
    ];
    const p = keyset(AFTER_ID, fakeOptions(2));
    const stuck = () => pageOf(records, { data: records, has_more: true });
    expect(() => walkPages(p, p.first(null), stuck)).toThrow(/no progress/);
  });

  it('refuses to drop records when the API order is not (cursor, id) order', () => {
    const descending = [
      { id: '10', updated_at: iso(1) },
      { id: '9', updated_at: iso(1) },
    ];
    const p = keyset(GTE_OFFSET, fakeOptions(2));
    expect(() => p.next(pageOf(descending), p.first(null))).toThrow(
      /listed \(.*, 10\) before \(.*, 9\), which is not \(updated_at, id\) order with ids compared as numbers/,
    );
    // Told that the API sorts its ids as text, 9 after 10 is the order, and 10 after 9 is not.
    const ascending = [...descending].reverse();
    const text = keyset(GTE_OFFSET, fakeOptions(2, { tieBreakerType: 'string' }));
    expect(() => text.next(pageOf(ascending), text.first(null))).toThrow(/with ids compared as text/);
    expect(text.next(pageOf(descending), text.first(null)).records).toEqual(descending);
  });

  it('walks numeric ids sorted numerically across 9 -> 10 and 99 -> 100 inside one cursor value', () => {
    // 130 records share one updated_at; a page holds 4, so pages end at 8, 12... and 96, 100.
    const records = Array.from({ length: 130 }, (_, i) => ({ id: String(i + 1), updated_at: iso(1) }));
    for (const config of [GTE_OFFSET, { type: 'keyset', hasMorePath: 'has_more' } as KeysetPagination]) {
      const p = keyset(config, fakeOptions(4));
      let plan = p.first(null);
      const seen: string[] = [];
      for (let pages = 0; pages < 200; pages++) {
        const offset = Number(plan.query['offset'] ?? 0);
        const limit = Number(plan.query['limit']);
        const answer = records.slice(offset, offset + limit);
        const step = p.next(
          pageOf(answer, { data: answer, has_more: offset + limit < records.length }),
          plan,
        );
        seen.push(...step.records.map((r) => (r as { id: string }).id));
        if (step.next === null) break;
        plan = step.next;
      }
      expect(seen).toEqual(records.map((r) => r.id));
    }
  });

  it('drops what a resumed pass already handed over by the numeric order of the ids', () => {
    const p = keyset(GTE_OFFSET, fakeOptions(10));
    const plan = p.first({ cursor: iso(1), param: iso(1), afterId: '9' });
    const page = ['8', '9', '10', '11'].map((id) => ({ id, updated_at: iso(1) }));
    expect(p.next(pageOf(page), plan).records.map((r) => (r as { id: string }).id)).toEqual(['10', '11']);
  });

  it('rejects a position another strategy wrote', () => {
    const p = keyset(AFTER_ID, fakeOptions(2));
    expect(() => p.resume(3)).toThrow(FatalError);
    expect(() => p.resume({ cursor: iso(1), id: 'a' })).toThrow(/cannot resume/);
  });
});
