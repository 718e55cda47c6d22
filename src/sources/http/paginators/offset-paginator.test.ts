import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FatalError } from '../../../core/errors.ts';
import type { RequestPlan } from '../http-types.ts';
import { createPaginator } from './create-paginator.ts';
import { FakeListApi, fakeOptions, ids, pageOf, walkPages } from './paginator-test-kit.ts';

const rs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `r${String(i).padStart(3, '0')}`,
    updated_at: '2024-01-01T00:00:00Z',
  }));
const offset = (overlap = 0, size = 3, hasMorePath?: string) =>
  createPaginator({ type: 'offset', overlap, ...(hasMorePath ? { hasMorePath } : {}) }, fakeOptions(size));

describe('OffsetPaginator', () => {
  it('walks offsets until a short page', () => {
    const p = offset();
    expect(p.incremental).toBe(false);
    expect(p.first(null)).toEqual({ query: { limit: '3', offset: '0' } });
    const api = new FakeListApi(rs(7));
    const walk = walkPages(p, p.first(null), (plan) => api.ranked(plan));
    expect(walk.plans.map((plan) => plan.query.offset)).toEqual(['3', '6']);
    expect(ids(walk.records)).toEqual(ids(api.records));
  });

  it('re-reads `overlap` records at each boundary and drops the exact repeats', () => {
    const p = offset(1);
    const api = new FakeListApi(rs(7));
    const walk = walkPages(p, p.first(null), (plan) => api.ranked(plan));
    expect(walk.plans.map((plan) => plan.query.offset)).toEqual(['2', '4', '6']);
    expect(ids(walk.records)).toEqual(ids(api.records));
  });

  it('keeps a repeat whose content changed between the two requests', () => {
    const p = offset(1);
    const first = p.next(pageOf(rs(3)), p.first(null));
    const changed = { ...rs(3)[2]!, updated_at: '2024-02-01T00:00:00Z' };
    const step = p.next(pageOf([changed, ...rs(5).slice(3)]), first.next!);
    expect(step.records).toEqual([changed, ...rs(5).slice(3)]);
  });

  it('ends on an empty page or has_more false, and trusts has_more over a short page', () => {
    const p = offset(0, 3, 'has_more');
    expect(p.next(pageOf([]), p.first(null)).next).toBeNull();
    expect(p.next(pageOf(rs(3), { has_more: false }), p.first(null)).next).toBeNull();
    expect(p.next(pageOf(rs(2), { has_more: true }), p.first(null)).next?.query.offset).toBe('2');
  });

  it('validates overlap and makes full passes only', () => {
    expect(() => offset(3, 3)).toThrow(ConfigError);
    expect(() => offset(-1)).toThrow(ConfigError);
    expect(() => offset().first({ param: 'x', cursor: 'x' })).toThrow(FatalError);
    expect(() => offset().resume({ offset: 3 })).toThrow(/cannot resume/);
  });

  it('resumes at every position exactly where the uninterrupted walk went on', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 2, max: 7 }), fc.nat(), (n, size, o) => {
        const overlap = o % size;
        const api = new FakeListApi(rs(n));
        const p = offset(overlap, size);
        const walk = walkPages(p, p.first(null), (plan) => api.ranked(plan));
        expect(ids(walk.records)).toEqual(ids(api.records));
        walk.positions.forEach((position, i) => {
          const resumed = offset(overlap, size);
          const plan = resumed.resume(JSON.parse(JSON.stringify(position)));
          expect(plan).toEqual(walk.plans[i]);
          const rest = walkPages(resumed, plan, (q) => api.ranked(q));
          expect([...walk.records.slice(0, walk.handedAfter[i]), ...rest.records]).toEqual(walk.records);
        });
      }),
    );
  });

  it('skips nothing when at most `overlap` records are removed between two requests', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 60 }),
        fc.integer({ min: 3, max: 8 }),
        fc.integer({ min: 1, max: 2 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        (n, size, overlap, picks) => {
          const api = new FakeListApi(rs(n));
          const removed = new Set<string>();
          let draw = 0;
          const answer = (plan: RequestPlan) => {
            for (let k = 0; k < overlap && draw < picks.length && api.records.length > 0; k++) {
              const [gone] = api.records.splice(picks[draw++]! % api.records.length, 1);
              removed.add(gone!.id);
            }
            return api.ranked(plan);
          };
          const p = offset(overlap, size);
          const walk = walkPages(p, p.first(null), answer);
          const seen = new Set(ids(walk.records));
          const missed = rs(n).filter((r) => !removed.has(r.id) && !seen.has(r.id));
          expect(missed).toEqual([]);
        },
      ),
    );
  });
});
