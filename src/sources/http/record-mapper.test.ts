import { describe, expect, it } from 'vitest';
import { ConfigError, FatalError } from '../../core/errors.ts';
import { RecordMapper } from './record-mapper.ts';

const couch = new RecordMapper(
  { record: 'doc', deletedPath: 'deleted', fields: { rename: { _id: 'id' }, drop: ['_rev'] } },
  ['id'],
  'stream "docs"',
);

describe('RecordMapper', () => {
  it('takes each record out of its row, drops then renames fields, and leaves the rows as they were', () => {
    const rows = [{ seq: 1, id: 'a', doc: { _id: 'a', _rev: '1-x', name: 'Ana' } }];
    const { records, deleted } = couch.mapRows(rows, 'GET /changes');
    expect(records).toEqual([{ id: 'a', name: 'Ana' }]);
    expect(deleted.size).toBe(0);
    expect(rows[0]!.doc).toEqual({ _id: 'a', _rev: '1-x', name: 'Ana' });
  });

  it('renames and drops dotted paths, and leaves a field to rename that a record lacks alone', () => {
    const m = new RecordMapper(
      { fields: { rename: { 'meta.created': 'created_at', uid: 'owner.id' }, drop: ['meta.etag'] } },
      ['id'],
      'stream "s"',
    );
    expect(m.mapRecord({ id: 1, meta: { created: 't', etag: 'e', kept: true }, uid: 7 })).toEqual({
      id: 1,
      created_at: 't',
      meta: { kept: true },
      owner: { id: 7 },
    });
    expect(m.mapRecord({ id: 2 })).toEqual({ id: 2 });
    expect(m.mapRecord('not an object')).toBe('not an object');
  });

  it('marks rows flagged deleted, keyed by their record or, without one, by the row itself', () => {
    const rows = [
      { seq: 2, id: 'b', deleted: true, doc: { _id: 'b', _rev: '2-y', _deleted: true } },
      { seq: 3, id: 'c', deleted: true },
      { seq: 4, id: 'd', deleted: false, doc: { _id: 'd' } },
    ];
    const { records, deleted } = couch.mapRows(rows, 'GET /changes');
    expect(records).toEqual([{ id: 'b', _deleted: true }, { seq: 3, id: 'c', deleted: true }, { id: 'd' }]);
    expect(records.map((r) => deleted.has(r))).toEqual([true, true, false]);
    expect(couch.batches(records, deleted)).toEqual([
      {
        records: [{ id: 'd' }],
        tombstones: [
          { key: { id: 'b', _deleted: true }, deletedAt: null },
          { key: { seq: 3, id: 'c', deleted: true }, deletedAt: null },
        ],
      },
    ]);
  });

  it('starts a new batch when a record follows the tombstone of its own key, so it is applied after it', () => {
    const { records, deleted } = couch.mapRows(
      [
        { doc: { _id: 'a', v: 1 } },
        { deleted: true, doc: { _id: 'a' } },
        { doc: { _id: 'b', v: 1 } },
        { doc: { _id: 'a', v: 2 } },
        { deleted: true, doc: { _id: 'b' } },
      ],
      'GET /events',
    );
    expect(couch.batches(records, deleted)).toEqual([
      {
        records: [
          { id: 'a', v: 1 },
          { id: 'b', v: 1 },
        ],
        tombstones: [{ key: { id: 'a' }, deletedAt: null }],
      },
      { records: [{ id: 'a', v: 2 }], tombstones: [{ key: { id: 'b' }, deletedAt: null }] },
    ]);
  });

  it('stops at a row without a record where `record` says, naming the row and what to set', () => {
    expect(() =>
      couch.mapRows([{ doc: { _id: 'a' } }, { seq: 2, id: 'b', changes: [] }], 'stream "docs": GET /c'),
    ).toThrow(FatalError);
    expect(() => couch.mapRows([{ seq: 2, id: 'b', changes: [] }], 'stream "docs": GET /c')).toThrow(
      'stream "docs": GET /c: row 0 has no object at "doc" (the row is an object with keys seq, id, changes); ' +
        'set `record` to the path of the record inside each row (or remove it when rows are the records)',
    );
  });

  it('refuses a field both dropped and renamed, and two fields renamed to one', () => {
    expect(
      () => new RecordMapper({ fields: { rename: { _id: 'id' }, drop: ['_id'] } }, ['id'], 'stream "s"'),
    ).toThrow(new ConfigError('stream "s": fields: "_id" is both dropped and renamed; keep one'));
    expect(
      () => new RecordMapper({ fields: { rename: { a: 'id', b: 'id' } } }, ['id'], 'stream "s"'),
    ).toThrow('stream "s": fields.rename: two fields are renamed to "id"; keep one');
  });

  it('hands rows over untouched when nothing is configured', () => {
    const rows = [{ id: 1 }];
    const plain = new RecordMapper({}, ['id'], 'stream "s"');
    expect(plain.mapRows(rows, 'GET /x').records).toBe(rows);
    expect(plain.batches(rows)).toEqual([{ records: rows, tombstones: [] }]);
  });
});
