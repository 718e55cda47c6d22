import { describe, expect, it } from 'vitest';
import { omitPaths, pickPaths, readPath } from './field-path.ts';

describe('field paths', () => {
  const record = { id: 1, name: 'a', meta: { fetched_at: 't', source: 's' }, 'a.b': 2 };

  it('reads dotted paths and literal dotted keys', () => {
    expect(readPath(record, 'meta.source')).toBe('s');
    expect(readPath(record, 'a.b')).toBe(2);
    expect(readPath(record, 'meta.nope')).toBeUndefined();
  });

  it('picks only the named paths, nested ones included', () => {
    expect(pickPaths(record, ['name', 'meta.source', 'missing'])).toEqual({
      name: 'a',
      meta: { source: 's' },
    });
  });

  it('omits the named paths without touching the original', () => {
    expect(omitPaths(record, ['meta.fetched_at', 'name'])).toEqual({
      id: 1,
      meta: { source: 's' },
      'a.b': 2,
    });
    expect(record.meta.fetched_at).toBe('t');
  });
});
