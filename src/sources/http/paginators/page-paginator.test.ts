import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../core/errors.ts';
import { createPaginator, type PagePagination } from './create-paginator.ts';
import { FakeListApi, fakeOptions, ids, pageOf, walkPages } from './paginator-test-kit.ts';

const rs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `r${i}`, updated_at: '2024-01-01T00:00:00Z' }));
const page = (config: Partial<PagePagination> = {}, size = 2) =>
  createPaginator({ type: 'page', ...config }, fakeOptions(size));

describe('PagePaginator', () => {
  it('walks page numbers from 1 until a short page', () => {
    const p = page();
    expect(p.incremental).toBe(false);
    expect(p.first(null)).toEqual({ query: { limit: '2', page: '1' } });
    const api = new FakeListApi(rs(5));
    const walk = walkPages(p, p.first(null), (plan) => api.ranked(plan));
    expect(walk.plans.map((plan) => plan.query.page)).toEqual(['2', '3']);
    expect(walk.positions).toEqual([2, 3]);
    expect(ids(walk.records)).toEqual(ids(api.records));
  });

  it('ends on an empty page, on has_more false and after total_pages', () => {
    const p = page({ hasMorePath: 'has_more', totalPagesPath: 'total_pages' });
    expect(p.next(pageOf([]), p.first(null)).next).toBeNull();
    expect(p.next(pageOf(rs(2), { has_more: false }), p.first(null)).next).toBeNull();
    p.resume(3);
    expect(p.next(pageOf(rs(2), { total_pages: 3 }), { query: {} }).next).toBeNull();
    p.resume(2);
    expect(p.next(pageOf(rs(2), { total_pages: 3 }), { query: {} }).position).toBe(3);
  });

  it('trusts an explicit has_more over a short page (an API that caps per_page)', () => {
    const p = page({ hasMorePath: 'has_more' }, 10);
    expect(p.next(pageOf(rs(5), { has_more: true }), p.first(null)).position).toBe(2);
  });

  it('counts from firstPage with its own parameter name', () => {
    const p = page({ firstPage: 0, param: 'p', totalPagesPath: 'pages' });
    expect(p.first(null).query.p).toBe('0');
    expect(p.next(pageOf(rs(2), { pages: 2 }), p.first(null)).position).toBe(1);
    expect(p.next(pageOf(rs(2), { pages: 2 }), { query: {} }).next).toBeNull();
  });

  it('makes full passes only and rejects foreign positions', () => {
    const p = page();
    expect(() => p.first({ param: 'x', cursor: 'x' })).toThrow(FatalError);
    expect(() => p.resume('2')).toThrow(/cannot resume/);
    expect(() => p.resume(0)).toThrow(/cannot resume/);
  });

  it('resumes at every position exactly where the uninterrupted walk went on', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 7 }), (n, size) => {
        const api = new FakeListApi(rs(n));
        const p = page({}, size);
        const walk = walkPages(p, p.first(null), (plan) => api.ranked(plan));
        expect(ids(walk.records)).toEqual(ids(api.records));
        walk.positions.forEach((position, i) => {
          const resumed = page({}, size);
          const plan = resumed.resume(position);
          expect(plan).toEqual(walk.plans[i]);
          const rest = walkPages(resumed, plan, (q) => api.ranked(q));
          expect([...walk.records.slice(0, walk.handedAfter[i]), ...rest.records]).toEqual(walk.records);
        });
      }),
    );
  });
});
