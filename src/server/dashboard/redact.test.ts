import { describe, expect, it } from 'vitest';
import { isSecretName, MASK, maskSecrets, maskString } from './redact.ts';

describe('maskSecrets', () => {
  it('hides the values of fields named like secrets, at any depth, and leaves the rest', () => {
    const value = {
      page: 3,
      password: 'hunter2',
      nested: { apiKey: 'k-1', api_key: 'k-2', 'api-key': 'k-3', name: 'ok', list: [{ accessToken: 't' }] },
      Authorization: 'Bearer x',
      oauth: { client: 'c' },
      session_id: 's',
      cookie: 'c=1',
      signature: 'sig',
      privateKey: 'pk',
      credentials: ['a', 'b'],
      clientSecret: 'cs',
      author: 'Ada',
      empty: null,
      secret: null,
    };
    expect(maskSecrets(value)).toEqual({
      page: 3,
      password: MASK,
      nested: { apiKey: MASK, api_key: MASK, 'api-key': MASK, name: 'ok', list: [{ accessToken: MASK }] },
      Authorization: MASK,
      oauth: MASK,
      session_id: MASK,
      cookie: MASK,
      signature: MASK,
      privateKey: MASK,
      credentials: MASK,
      clientSecret: MASK,
      author: 'Ada',
      empty: null,
      secret: null,
    });
    // The argument is left as it was.
    expect(value.password).toBe('hunter2');
  });

  it('strips credentials from URLs in strings, wherever they are', () => {
    const masked = maskSecrets({
      next: 'https://api.example.com/items?page=2&api_key=abc123&sort=id',
      db: 'postgres://app:s3cr3t@db.internal:5432/crm',
      note: 'failed to reach postgres://app:s3cr3t@db.internal/crm after 3 tries',
      plain: 'https://api.example.com/items?page=2',
      urls: ['https://u:p@h.example/'],
    }) as Record<string, unknown>;
    const text = JSON.stringify(masked);
    expect(text).not.toContain('abc123');
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('u:p@');
    expect(masked['next']).toBe(`https://api.example.com/items?page=2&api_key=${MASK}&sort=id`);
    expect(masked['db']).toContain('db.internal:5432/crm');
    expect(masked['note']).toMatch(/^failed to reach postgres:\/\/app:.+@db\.internal\/crm after 3 tries$/);
    // A URL without credentials is left exactly as it was.
    expect(masked['plain']).toBe('https://api.example.com/items?page=2');
  });

  it('passes scalars through, masks URLs in a bare string, and cuts cycles and deep nesting', () => {
    expect(maskSecrets(42)).toBe(42);
    expect(maskSecrets(null)).toBeNull();
    expect(maskSecrets(true)).toBe(true);
    expect(maskSecrets('redis://:pw@cache:6379')).not.toContain('pw');
    const cycle: Record<string, unknown> = { a: 1 };
    cycle['self'] = cycle;
    expect(maskSecrets(cycle)).toEqual({ a: 1, self: MASK });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(JSON.stringify(maskSecrets(deep))).toContain(MASK);
    // The same object twice (not a cycle) is shown twice.
    const shared = { x: 1 };
    expect(maskSecrets({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  it('names secrets as the dashboard does', () => {
    for (const name of ['pass', 'passwd', 'X-Api-Key', 'refresh_token', 'authorization', 'sessionId']) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ['author', 'authored_by', 'name', 'id', 'email']) {
      expect(isSecretName(name), name).toBe(false);
    }
    expect(maskString('no url here')).toBe('no url here');
  });
});
