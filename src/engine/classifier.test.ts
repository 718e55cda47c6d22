import { describe, expect, it } from 'vitest';
import type { StoredRecordState } from '../core/types.ts';
import { classify } from './classifier.ts';
import type { PreparedRecord } from './page-preparer.ts';

function rec(key: string, hash: string, version: string | null = null, deleted = false): PreparedRecord {
  return { key, data: `{"k":"${key}"}`, hash, version, cursor: null, deleted };
}
function stored(entries: [string, StoredRecordState][]): Map<string, StoredRecordState> {
  return new Map(entries);
}

describe('classify', () => {
  it('inserts absent keys and skips records whose hash is unchanged', () => {
    const { writes, counters } = classify(
      [rec('a', 'h1'), rec('b', 'h2')],
      stored([['b', { hash: 'h2', version: null, deleted: false }]]),
    );
    expect(writes.map((w) => [w.key, w.kind, w.existed])).toEqual([['a', 'insert', false]]);
    expect(counters).toMatchObject({ inserted: 1, updated: 0, unchanged: 1, stale: 0, deleted: 0 });
  });

  it('updates on a changed hash without versions', () => {
    const { writes } = classify(
      [rec('a', 'new')],
      stored([['a', { hash: 'old', version: null, deleted: false }]]),
    );
    expect(writes[0]).toMatchObject({ kind: 'update', existed: true, hash: 'new' });
  });

  it('applies higher versions, skips lower ones as stale, and updates an equal version with a new hash', () => {
    const before = stored([
      ['up', { hash: 'x', version: '2', deleted: false }],
      ['down', { hash: 'x', version: '5', deleted: false }],
      ['same', { hash: 'x', version: '3', deleted: false }],
      ['flag', { hash: 'x', version: '3', deleted: false }],
    ]);
    const { writes, counters } = classify(
      [rec('up', 'x', '10'), rec('down', 'y', '4'), rec('same', 'x', '3'), rec('flag', 'z', '3')],
      before,
    );
    expect(writes.map((w) => w.key)).toEqual(['up', 'flag']);
    expect(counters).toEqual({
      inserted: 0,
      updated: 2,
      unchanged: 1,
      stale: 1,
      deleted: 0,
      flagged: 1,
      regressed: 0,
      failed: 0,
    });
  });

  it('soft-deletes on a tombstone, ignores a repeated one, and restores on a live record', () => {
    const before = stored([
      ['live', { hash: 'x', version: null, deleted: false }],
      ['dead', { hash: 'x', version: null, deleted: true }],
      ['back', { hash: 'x', version: null, deleted: true }],
    ]);
    const { writes, counters } = classify(
      [rec('live', 'x', null, true), rec('dead', 'x', null, true), rec('back', 'x')],
      before,
    );
    expect(writes.map((w) => [w.key, w.kind, w.deleted])).toEqual([
      ['live', 'delete', true],
      ['back', 'update', false],
    ]);
    expect(counters).toMatchObject({ deleted: 1, unchanged: 1, updated: 1 });
  });

  it('does not let an older tombstone delete a newer record', () => {
    const { writes, counters } = classify(
      [rec('a', 'x', '1', true)],
      stored([['a', { hash: 'y', version: '2', deleted: false }]]),
    );
    expect(writes).toEqual([]);
    expect(counters.stale).toBe(1);
  });

  it('dead-letters a version that went back while its cursor moved forward, or applies it when accepted', () => {
    const before = stored([
      ['a', { hash: 'x', version: '5', deleted: false, cursor: '2026-01-01T00:00:00Z' }],
    ]);
    const regressed: PreparedRecord = { ...rec('a', 'y', '4'), cursor: '2026-02-01T00:00:00Z' };
    const outOfOrder: PreparedRecord = { ...rec('a', 'y', '4'), cursor: '2025-12-01T00:00:00Z' };
    const kept = classify([regressed], before);
    expect(kept.writes).toEqual([]);
    expect(kept.counters).toMatchObject({ failed: 1, stale: 0, regressed: 0 });
    expect(kept.deadLetters[0]?.reason).toMatch(
      /version went back from 5 to 4 although the cursor moved forward/,
    );
    const accepted = classify([regressed], before, { onVersionRegression: 'accept' });
    expect(accepted.writes[0]).toMatchObject({ kind: 'update', version: '4' });
    expect(accepted.counters).toMatchObject({ updated: 1, regressed: 1, failed: 0 });
    expect(classify([outOfOrder], before).counters).toMatchObject({ stale: 1, failed: 0 });
  });

  it('collapses a key seen twice in one page into one write that keeps the store existence', () => {
    const { writes, counters } = classify(
      [rec('a', 'h1', '1'), rec('a', 'h2', '2'), rec('a', 'h0', '0')],
      new Map(),
    );
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ kind: 'insert', existed: false, hash: 'h2', version: '2' });
    expect(counters).toMatchObject({ inserted: 1, updated: 1, stale: 1 });
  });

  describe('tombstones', () => {
    const T = '2026-01-01T00:10:00.000Z';
    const before = stored([
      ['live', { hash: 'h', version: '7', deleted: false, cursor: '2026-01-01T00:05:00.000Z' }],
      ['back', { hash: 'h', version: '2', deleted: false, cursor: '2026-01-01T00:20:00.000Z' }],
      ['gone', { hash: 'h', version: '1', deleted: true, cursor: null }],
    ]);

    it('soft-deletes a live row keeping its data, and leaves absent, deleted and newer rows alone', () => {
      const { writes, counters } = classify([], before, {}, [
        { key: 'live', deletedAt: T },
        { key: 'back', deletedAt: T },
        { key: 'gone', deletedAt: T },
        { key: 'never', deletedAt: null },
      ]);
      expect(writes).toEqual([
        {
          kind: 'delete',
          existed: true,
          keepData: true,
          key: 'live',
          data: '',
          hash: 'h',
          version: '7',
          cursor: '2026-01-01T00:05:00.000Z',
          deleted: true,
        },
      ]);
      expect(counters).toMatchObject({ deleted: 1, stale: 1, unchanged: 2 });
    });

    it('deletes whatever the cursor says when the tombstone has no time', () => {
      const { writes } = classify([], before, {}, [{ key: 'back', deletedAt: null }]);
      expect(writes.map((w) => [w.key, w.kind])).toEqual([['back', 'delete']]);
    });

    it('applies after the records of its page: a record then its tombstone is one write with the data', () => {
      const inserted = { ...rec('new', 'hn', '1'), cursor: '2026-01-01T00:01:00.000Z' };
      const { writes, counters } = classify([inserted], before, {}, [{ key: 'new', deletedAt: T }]);
      expect(writes).toEqual([{ ...inserted, kind: 'delete', existed: false, deleted: true }]);
      expect(counters).toMatchObject({ inserted: 1, deleted: 1 });
      // A record newer than the delete in the same page survives it.
      const revived = { ...rec('live', 'h2', '8'), cursor: '2026-01-01T00:30:00.000Z' };
      const second = classify([revived], before, {}, [{ key: 'live', deletedAt: T }]);
      expect(second.writes.map((w) => [w.key, w.kind, w.deleted])).toEqual([['live', 'update', false]]);
    });
  });
});
