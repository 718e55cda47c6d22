import { describe, expect, it } from 'vitest';
import { compareTieBreaker, tieBreakerOrder } from './tie-breaker.ts';

describe('compareTieBreaker', () => {
  it('compares as numbers or as text, as tieBreakerType says, or as numbers when both are decimal', () => {
    expect(compareTieBreaker('9', '10')).toBeLessThan(0);
    expect(compareTieBreaker('9', '10', 'number')).toBeLessThan(0);
    expect(compareTieBreaker('9', '10', 'string')).toBeGreaterThan(0);
    expect(compareTieBreaker('100', '99')).toBeGreaterThan(0);
    expect(compareTieBreaker('12345678901234567890', '12345678901234567891')).toBeLessThan(0);
    expect(compareTieBreaker('b', 'a')).toBeGreaterThan(0);
    expect(compareTieBreaker('7', '7', 'string')).toBe(0);
  });

  it('refuses a value that is not a number when told the ids are numbers', () => {
    expect(() => compareTieBreaker('9', 'cus_1', 'number')).toThrow(
      /tieBreakerType is 'number', but the tie-breaker value "cus_1" is not a decimal number/,
    );
  });

  it('says how it compared two values, for messages', () => {
    expect(tieBreakerOrder('9', '10')).toBe('as numbers');
    expect(tieBreakerOrder('9', 'cus_1')).toBe('as text');
    expect(tieBreakerOrder('9', '10', 'string')).toBe('as text');
  });
});
