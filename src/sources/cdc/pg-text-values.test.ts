import { describe, expect, it } from 'vitest';
import { bigIntToLsn, compareLsn, lsnToBigInt } from './lsn.ts';
import { parseArray, pgTextToJson } from './pg-text-values.ts';

describe('pgTextToJson', () => {
  it('maps each type faithfully: exact numerics as text, microseconds kept, bytea as base64', () => {
    expect(pgTextToJson(16, 't')).toBe(true);
    expect(pgTextToJson(23, '-42')).toBe(-42);
    expect(pgTextToJson(20, '9007199254740991')).toBe(9007199254740991);
    expect(pgTextToJson(20, '9007199254740993')).toBe('9007199254740993');
    expect(pgTextToJson(1700, '12.50')).toBe('12.50');
    expect(pgTextToJson(701, 'NaN')).toBe('NaN');
    expect(pgTextToJson(701, '0.1')).toBe(0.1);
    expect(pgTextToJson(3802, '{"a": [1, null]}')).toEqual({ a: [1, null] });
    expect(pgTextToJson(17, '\\xdeadbeef')).toBe('3q2+7w==');
    expect(pgTextToJson(1184, '2024-05-01 10:00:00.123456+00')).toBe('2024-05-01T10:00:00.123456Z');
    expect(pgTextToJson(1114, '2024-05-01 10:00:00')).toBe('2024-05-01T10:00:00');
    expect(pgTextToJson(1184, 'infinity')).toBe('infinity');
    expect(pgTextToJson(2950, '6f1c1c8e-4b0b-4e55-9f0e-3a3b7f4a9c21')).toBe(
      '6f1c1c8e-4b0b-4e55-9f0e-3a3b7f4a9c21',
    );
    expect(pgTextToJson(23, null)).toBeNull();
  });

  it('reads array literals, quoted, with NULLs and nesting', () => {
    expect(pgTextToJson(1007, '{1,2,NULL}')).toEqual([1, 2, null]);
    expect(pgTextToJson(1009, '{"a b","c\\"d",plain,"NULL"}')).toEqual(['a b', 'c"d', 'plain', 'NULL']);
    expect(parseArray('{{1,2},{3,4}}', Number)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parseArray('{}', Number)).toEqual([]);
    expect(parseArray('[0:1]={7,8}', Number)).toEqual([7, 8]);
  });
});

describe('LSNs', () => {
  it('compare as positions, not as text', () => {
    expect(compareLsn('0/FFFFFFFF', '1/0')).toBeLessThan(0);
    expect(compareLsn('00000001/0000000A', '1/A')).toBe(0);
    expect(bigIntToLsn(lsnToBigInt('16/B374D848') - 1n)).toBe('16/B374D847');
    expect(() => lsnToBigInt('nope')).toThrow(/not a PostgreSQL LSN/);
  });
});
