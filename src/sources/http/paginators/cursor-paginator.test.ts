import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../core/errors.ts';
import { createPaginator } from './create-paginator.ts';
import { fakeOptions, pageOf, walkPages } from './paginator-test-kit.ts';

const r = (id: string) => ({ id, updated_at: '2024-01-01T00:00:00.000Z' });
const cursor = (patch = {}) =>
  createPaginator({ type: 'cursor', hasMorePath: 'has_more', ...patch }, fakeOptions(2));

describe('CursorPaginator', () => {
  it('sends the since-parameter on the first request of an incremental pass only', () => {
    const p = cursor();
    expect(p.incremental).toBe(true);
    expect(p.first(null)).toEqual({ query: { limit: '2' } });
    const first = p.first({ param: '1700000000', cursor: '1700000000' });
    expect(first).toEqual({ query: { limit: '2', updated_since: '1700000000' } });
    const step = p.next(pageOf([r('a'), r('b')], { data: [], has_more: true, next_cursor: 't1' }), first);
    expect(step.next).toEqual({ query: { limit: '2', cursor: 't1' } });
    expect(step.position).toBe('t1');
  });

  it('is not incremental without a since-parameter', () => {
    const p = createPaginator({ type: 'cursor' }, fakeOptions(2, { sinceParam: null }));
    expect(p.incremental).toBe(false);
    expect(() => p.first({ param: 'x', cursor: 'x' })).toThrow(FatalError);
  });

  it('ends the pass when has_more is false even though a token comes back (to poll with later)', () => {
    const p = cursor();
    const step = p.next(pageOf([r('a')], { has_more: false, next_cursor: 't9' }), p.first(null));
    expect(step).toEqual({ records: [r('a')], next: null, position: null });
  });

  it('ends the pass on a missing or null token and on an empty page', () => {
    const p = cursor({ hasMorePath: undefined });
    const plan = p.first(null);
    expect(p.next(pageOf([r('a')], { next_cursor: null }), plan).next).toBeNull();
    expect(p.next(pageOf([r('a')], {}), plan).next).toBeNull();
    expect(p.next(pageOf([], { next_cursor: 't2' }), plan).next).toBeNull();
  });

  it('reads the token from a header or a nested body path, with its own parameter name', () => {
    const fromHeader = cursor({ tokenHeader: 'X-Next-Token', param: 'page_token' });
    const step = fromHeader.next(pageOf([r('a')], {}, { 'x-next-token': 'h1' }), fromHeader.first(null));
    expect(step.next).toEqual({ query: { limit: '2', page_token: 'h1' } });
    const nested = cursor({ tokenPath: 'meta.next', hasMorePath: undefined });
    expect(nested.next(pageOf([r('a')], { meta: { next: 42 } }), nested.first(null)).position).toBe('42');
  });

  it('never loops on a token that repeats the one just sent', () => {
    const p = cursor({ hasMorePath: undefined });
    const plan = p.resume('t1');
    expect(p.next(pageOf([r('a')], { next_cursor: 't1' }), plan).next).toBeNull();
    const strict = cursor();
    expect(() =>
      strict.next(pageOf([r('a')], { next_cursor: 't1', has_more: true }), strict.resume('t1')),
    ).toThrow(/loop forever/);
  });

  it('resumes at a position with exactly the request next gave', () => {
    const tokens = ['t1', 't2', 't3'];
    const answer = (plan: { query: Record<string, string> }) => {
      const at = plan.query.cursor === undefined ? 0 : tokens.indexOf(plan.query.cursor) + 1;
      return pageOf([r(`r${at}`)], { has_more: at < tokens.length, next_cursor: tokens[at] ?? 't3' });
    };
    const p = cursor();
    const walk = walkPages(p, p.first(null), answer);
    expect(walk.records).toHaveLength(4);
    walk.positions.forEach((position, i) => {
      expect(cursor().resume(position)).toEqual(walk.plans[i]);
    });
    expect(() => p.resume({ token: 't1' })).toThrow(/cannot resume/);
  });
});
