import { describe, expect, it } from 'vitest';
import { canFollow, mergePages, type PreparedPage } from './page-preparer.ts';

function page(n: number, over: Partial<PreparedPage> = {}): PreparedPage {
  return {
    records: [{ key: `k${n}`, data: '{}', hash: `h${n}`, version: null, cursor: null, deleted: false }],
    tombstones: [],
    deadLetters: [],
    fetched: 1,
    checkpoint: { page: n },
    newestCursor: `2026-01-0${n}T00:00:00.000Z`,
    withoutCursor: 0,
    replayed: [],
    ...over,
  };
}

describe('mergePages', () => {
  it('joins pages in order with the last checkpoint and the newest cursor of all', () => {
    const merged = mergePages([page(1), page(3, { newestCursor: '2026-01-09T00:00:00.000Z' }), page(2)]);
    expect(merged.records.map((r) => r.key)).toEqual(['k1', 'k3', 'k2']);
    expect(merged).toMatchObject({
      fetched: 3,
      checkpoint: { page: 2 },
      newestCursor: '2026-01-09T00:00:00.000Z',
    });
  });

  it('never lets records follow tombstones in one commit, which would apply them in the wrong order', () => {
    const gone = page(1, { records: [], tombstones: [{ key: 'k2', deletedAt: null }] });
    expect(canFollow([page(1)], gone)).toBe(true);
    expect(canFollow([gone], page(2))).toBe(false);
    expect(canFollow([gone], { ...gone, checkpoint: { page: 2 } })).toBe(true);
  });
});
