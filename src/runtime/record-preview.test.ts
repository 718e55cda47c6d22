import { describe, expect, it } from 'vitest';
import { recordPreview } from './record-preview.ts';

describe('recordPreview', () => {
  it('masks the values of fields named like credentials, in any case or spelling', () => {
    expect(
      recordPreview({
        id: 1,
        password: 'hunter2',
        api_key: 'k',
        accessToken: 't',
        'Client-Secret': 's',
        nested: { authorization: 'Bearer x', tokens_used: 3 },
        passenger: 'Ada',
        session_token: null,
      }),
    ).toEqual({
      id: 1,
      password: '***',
      api_key: '***',
      accessToken: '***',
      'Client-Secret': '***',
      nested: { authorization: '***', tokens_used: 3 },
      passenger: 'Ada',
      session_token: null,
    });
  });

  it('masks the given secret values wherever they appear, but not one too short to tell from text', () => {
    expect(recordPreview({ email: 'a@example.com' }, ['x'])).toEqual({ email: 'a@example.com' });
    expect(
      recordPreview({ note: 'token is s3cr3t-value!', url: 'https://x/?k=s3cr3t-value' }, ['s3cr3t-value']),
    ).toEqual({
      note: 'token is ***!',
      url: 'https://x/?k=***',
    });
  });

  it('cuts long strings, long arrays, wide objects and deep nesting, saying how much was left out', () => {
    const preview = recordPreview({
      text: 'x'.repeat(200),
      list: [1, 2, 3, 4, 5, 6, 7],
      deep: { a: { b: { c: 1 } } },
      wide: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${i}`, i])),
    }) as Record<string, unknown>;
    expect(preview['text']).toBe(`${'x'.repeat(80)}... (200 chars)`);
    expect(preview['list']).toEqual([1, 2, 3, 4, 5, '... 2 more']);
    expect(preview['deep']).toEqual({ a: { b: '{...}' } });
    expect(Object.keys(preview['wide'] as object)).toHaveLength(21);
    expect((preview['wide'] as Record<string, unknown>)['...']).toBe('5 more fields');
  });
});
