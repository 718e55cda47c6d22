import { describe, expect, it } from 'vitest';
import { pgTarget } from './pg-target.ts';

describe('pgTarget', () => {
  it('names host, port and database with libpq defaults, without credentials', () => {
    expect(pgTarget(new URL('postgres://u:s3cret@127.0.0.1:1/x'))).toBe('127.0.0.1:1/x');
    expect(pgTarget(new URL('postgres://alice@db'))).toBe('db:5432/alice');
  });
});
