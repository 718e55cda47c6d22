import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { columnProblem, viewColumns, viewFingerprint } from './view-columns.ts';

describe('view columns', () => {
  it('name columns after their field paths, and refuse names that clash or are not plain', () => {
    expect(viewColumns('s', { email: 'text', 'address.City': 'text' })).toEqual([
      { name: 'email', path: ['email'], type: 'text' },
      { name: 'address_city', path: ['address', 'City'], type: 'text' },
    ]);
    expect(() => viewColumns('s', { 'first-name': 'text' })).toThrow(ConfigError);
    expect(() => viewColumns('s', { 'a.b': 'text', a_b: 'text' })).toThrow(
      'stream "s": columns: "a_b": becomes column "a_b", as "a.b" does',
    );
    expect(() => viewColumns('s', { _key: 'text' })).toThrow(/a column the view has already/);
    expect(() => viewColumns('s', { x: 'money' as never })).toThrow(/type must be one of text, integer/);
  });

  it('fingerprint the columns, so a store can tell when they changed', () => {
    const a = viewFingerprint(viewColumns('s', { email: 'text', seats: 'integer' }));
    expect(viewFingerprint(viewColumns('s', { email: 'text', seats: 'integer' }))).toBe(a);
    expect(viewFingerprint(viewColumns('s', { email: 'text', seats: 'numeric' }))).not.toBe(a);
    expect(viewFingerprint(viewColumns('s', { seats: 'integer', email: 'text' }))).not.toBe(a);
  });

  it('say why a value cannot be its column type, and let null and missing fields through', () => {
    expect(columnProblem('integer', 3)).toBeNull();
    expect(columnProblem('integer', '40')).toBeNull();
    expect(columnProblem('integer', 3.5)).toBe('expected a whole number, got 3.5');
    expect(columnProblem('numeric', '12.50')).toBeNull();
    expect(columnProblem('numeric', 'abc')).toBe('expected a number, got "abc"');
    expect(columnProblem('boolean', 'true')).toBe('expected true or false, got "true"');
    expect(columnProblem('timestamp', '2026-03-01T10:00:00.123+02:00')).toBeNull();
    expect(columnProblem('timestamp', 'yesterday')).toMatch(/expected an ISO-8601 date-time/);
    expect(columnProblem('date', '2026-02-30x')).toMatch(/expected a date/);
    expect(columnProblem('text', { a: 1 })).toBe('expected text, got an object');
    expect(columnProblem('json', { a: 1 })).toBeNull();
    for (const type of ['text', 'integer', 'numeric', 'boolean', 'timestamp', 'date', 'json'] as const) {
      expect(columnProblem(type, null)).toBeNull();
      expect(columnProblem(type, undefined)).toBeNull();
    }
  });
});
