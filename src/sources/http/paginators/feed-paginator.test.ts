import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../core/errors.ts';
import { createPaginator, type FeedPagination } from './create-paginator.ts';
import { fakeOptions, pageOf } from './paginator-test-kit.ts';

const row = (seq: number) => ({ seq, doc: { _id: `r${seq}` } });
const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => row(from + i));
const feed = (patch: Partial<FeedPagination> = {}) =>
  createPaginator({ type: 'feed', ...patch }, fakeOptions(3, { sinceParam: null, cursorField: null }));

describe('FeedPaginator', () => {
  it('starts without a token, then sends each last_seq back as since', () => {
    const p = feed();
    expect(p.incremental).toBe(false);
    expect(p.keepsPosition).toBe(true);
    const first = p.first(null);
    expect(first).toEqual({ query: { limit: '3' } });
    const step = p.next(pageOf(rows(1, 3), { results: [], last_seq: 3 }), first);
    expect(step.next).toEqual({ query: { limit: '3', since: '3' } });
    expect(step.position).toBe('3');
    expect(p.resume('3')).toEqual(step.next);
    expect(() => p.first({ param: 'x', cursor: 'x' })).toThrow(FatalError);
  });

  it('ends the pass on a short page and keeps its token as the position the next pass starts at', () => {
    const p = feed();
    const step = p.next(pageOf(rows(4, 2), { last_seq: '4-g1AAAA' }), p.resume('3'));
    expect(step).toEqual({ records: rows(4, 2), next: null, position: '4-g1AAAA' });
  });

  it('ends on an empty page, keeping the token it gives or, without one, the token it was sent', () => {
    const p = feed();
    expect(p.next(pageOf([], { last_seq: 9 }), p.resume('5')).position).toBe('9');
    expect(p.next(pageOf([], {}), p.resume('5'))).toEqual({ records: [], next: null, position: '5' });
    expect(p.next(pageOf([], {}), p.first(null)).position).toBeNull();
  });

  it('lets pending (or a has-more flag) decide instead of the page length', () => {
    const pending = feed({ pendingPath: 'pending', param: 'from', tokenPath: 'meta.next' });
    const full = pending.next(pageOf(rows(1, 3), { meta: { next: 'a' }, pending: 0 }), pending.first(null));
    expect(full).toMatchObject({ next: null, position: 'a' });
    // A page the API cut below the page size, with more to come: continue.
    const cut = pending.next(pageOf(rows(1, 2), { meta: { next: 'b' }, pending: 7 }), pending.first(null));
    expect(cut).toMatchObject({ next: { query: { limit: '3', from: 'b' } }, position: 'b' });
    const flag = feed({ hasMorePath: 'has_more' });
    expect(flag.next(pageOf(rows(1, 3), { last_seq: 3, has_more: false }), flag.first(null)).next).toBeNull();
  });

  it('refuses rows without a token, and a token that does not move while more rows follow', () => {
    const p = feed();
    expect(() => p.next(pageOf(rows(1, 3), { seq: 3 }), p.first(null))).toThrow(
      /answered 3 rows but no token at "last_seq"; set pagination.tokenPath/,
    );
    expect(() => p.next(pageOf(rows(1, 3), { last_seq: 5 }), p.resume('5'))).toThrow(
      /answered the token it was sent \("5"\) and says more rows follow/,
    );
    expect(() => p.resume(null)).toThrow(/feed pagination cannot resume at null/);
  });
});
