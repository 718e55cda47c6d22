import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../core/errors.ts';
import { createPaginator } from './create-paginator.ts';
import { findLink, parseLinkHeader } from './link-header.ts';
import { fakeOptions, pageOf } from './paginator-test-kit.ts';

const BASE = 'https://api.test/v1/items?page=1';

describe('parseLinkHeader', () => {
  it('reads several links with quoted and bare parameters', () => {
    const links = parseLinkHeader(
      '<https://api.test/v1/items?page=2>; rel="next", <https://api.test/v1/items?page=9>; rel=last',
    );
    expect(links.map((l) => [l.target, l.rels])).toEqual([
      ['https://api.test/v1/items?page=2', ['next']],
      ['https://api.test/v1/items?page=9', ['last']],
    ]);
  });

  it('keeps commas and semicolons inside quotes and inside the target, and unescapes quotes', () => {
    const [link, other] = parseLinkHeader(
      '<https://x.test/a;b,c>; title="a, b; \\"c\\""; rel="next", <https://x.test/d>; rel="prev"',
    );
    expect(link?.target).toBe('https://x.test/a;b,c');
    expect(link?.params.title).toBe('a, b; "c"');
    expect(link?.rels).toEqual(['next']);
    expect(other?.rels).toEqual(['prev']);
  });

  it('reads rel as a case-insensitive list, first occurrence only', () => {
    const [link] = parseLinkHeader('<https://x.test/2>; REL="Next  last"; rel="prev"');
    expect(link?.rels).toEqual(['next', 'last']);
  });

  it('finds rel=next among others, resolving relative targets, and tolerates junk', () => {
    expect(findLink('<https://x.test/1>; rel="prev", </v1/items?page=3>; rel="next"', 'next', BASE)).toBe(
      'https://api.test/v1/items?page=3',
    );
    expect(findLink('<https://x.test/1>; rel="prev"', 'next', BASE)).toBeNull();
    expect(findLink(undefined, 'next', BASE)).toBeNull();
    expect(findLink('garbage; rel=next', 'next', BASE)).toBeNull();
    expect(findLink('<https://x.test/2>; rel="next', 'next', BASE)).toBe('https://x.test/2');
  });
});

describe('LinkPaginator', () => {
  it('follows the next link and ends when there is none', () => {
    const p = createPaginator({ type: 'link' }, fakeOptions(100));
    expect(p.first({ param: '2024-01-01T00:00:00Z', cursor: '2024-01-01T00:00:00Z' })).toEqual({
      query: { limit: '100', updated_since: '2024-01-01T00:00:00Z' },
    });
    const next = 'https://api.test/v1/items?cursor=abc';
    const step = p.next(
      pageOf([{ id: 'a' }], [{ id: 'a' }], { link: `<${next}>; rel="next"` }),
      p.first(null),
    );
    expect(step.next).toEqual({ url: next, query: {} });
    expect(step.position).toBe(next);
    expect(p.resume(next)).toEqual(step.next);
    expect(p.next(pageOf([{ id: 'b' }], [{ id: 'b' }]), step.next!).next).toBeNull();
  });

  it('refuses a next link that points at the page itself, and positions that are not URLs', () => {
    const p = createPaginator({ type: 'link' }, fakeOptions(100, { sinceParam: null }));
    expect(p.incremental).toBe(false);
    const self = pageOf([], [], { link: '<https://api.test/v1/items>; rel="next"' });
    expect(() => p.next(self, { query: {} })).toThrow(FatalError);
    expect(() => p.resume('not a url')).toThrow(/cannot resume/);
  });
});
