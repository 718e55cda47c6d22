import { describe, expect, it } from 'vitest';
import type { Page, SourceArgs } from '../core/source.ts';
import { windowedSource } from './windowed-source.ts';

describe('windowedSource', () => {
  it("reads a range in windows, passing each page's records and tombstones through with a wrapped checkpoint", async () => {
    const asked: unknown[] = [];
    const inner = async function* (args: SourceArgs): AsyncGenerator<Page> {
      asked.push(args.request);
      yield { records: [{ id: 1 }], tombstones: [{ key: { id: 2 }, deletedAt: null }], checkpoint: { n: 1 } };
    };
    const range = { from: '2026-01-01T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z' };
    const pages: Page[] = [];
    for await (const page of windowedSource(inner, range, 86_400_000)({ checkpoint: null } as SourceArgs)) {
      pages.push(page);
    }
    expect(asked).toEqual([
      { mode: 'backfill', range: { from: range.from, to: '2026-01-02T00:00:00.000Z' }, windowMs: 86_400_000 },
      { mode: 'backfill', range: { from: '2026-01-02T00:00:00.000Z', to: range.to }, windowMs: 86_400_000 },
    ]);
    expect(pages.filter((p) => p.records.length > 0)).toHaveLength(2);
    expect(pages[0]).toMatchObject({
      records: [{ id: 1 }],
      tombstones: [{ key: { id: 2 }, deletedAt: null }],
      checkpoint: { v: 1, range, windowFrom: range.from, source: { n: 1 } },
    });
  });
});
