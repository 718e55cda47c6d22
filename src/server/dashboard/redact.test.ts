import { describe, expect, it } from 'vitest';
import { MASKED, maskSecrets } from './redact.ts';

describe('maskSecrets', () => {
  it('masks the values of keys named like secrets, at any depth, whatever they hold', () => {
    const record = {
      id: 7,
      name: 'Ada',
      password: 'hunter2',
      apiKey: 'k-123',
      api_key: 'k-456',
      'x-api-key': 'k-789',
      AUTH_TOKEN: 'abc',
      Authorization: 'Bearer xyz',
      cookie: 'sid=1',
      sessionId: 's-1',
      signature: 'sig',
      credentials: { user: 'u', pass: 'p' },
      privateKey: '-----BEGIN-----',
      clientSecret: 's',
      nested: { deeper: [{ passwd: 'x', ok: true }] },
    };
    expect(maskSecrets(record)).toEqual({
      id: 7,
      name: 'Ada',
      password: MASKED,
      apiKey: MASKED,
      api_key: MASKED,
      'x-api-key': MASKED,
      AUTH_TOKEN: MASKED,
      Authorization: MASKED,
      cookie: MASKED,
      sessionId: MASKED,
      signature: MASKED,
      credentials: MASKED,
      privateKey: MASKED,
      clientSecret: MASKED,
      nested: { deeper: [{ passwd: MASKED, ok: true }] },
    });
    // The record itself is left as it was.
    expect(record.password).toBe('hunter2');
  });

  it('takes the password out of URLs with credentials, and leaves other strings alone', () => {
    expect(
      maskSecrets({
        db: 'postgres://app:s3cr3t@db.example:5432/prod',
        dsn: 'postgres://db.example/prod?password=s3cr3t',
        site: 'https://example.com',
        note: 'email me at ada@example.com',
        list: ['mysql://root:pw@localhost/x'],
      }),
    ).toEqual({
      db: 'postgres://app:***@db.example:5432/prod',
      dsn: 'postgres://db.example/prod?password=***',
      site: 'https://example.com',
      note: 'email me at ada@example.com',
      list: ['mysql://root:***@localhost/x'],
    });
  });

  it('keeps scalars, nulls and empty secrets as they are', () => {
    expect(maskSecrets(null)).toBeNull();
    expect(maskSecrets(3)).toBe(3);
    expect(maskSecrets('plain')).toBe('plain');
    expect(maskSecrets([1, 'a', false])).toEqual([1, 'a', false]);
    expect(maskSecrets({ token: null })).toEqual({ token: null });
  });
});
