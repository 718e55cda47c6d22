import { describe, expect, it } from 'vitest';
import { RecordError } from './errors.ts';
import { compareScalarText, encodeKey, scalarText } from './key-codec.ts';

describe('encodeKey', () => {
  it('encodes a single-field key as its text and a composite key as a JSON array', () => {
    expect(encodeKey({ id: 42 }, ['id'])).toBe('42');
    expect(encodeKey({ id: 'cus_9' }, ['id'])).toBe('cus_9');
    expect(encodeKey({ s: 'BTC', i: '1h', t: 1700000000000 }, ['s', 'i', 't'])).toBe(
      '["BTC","1h",1700000000000]',
    );
  });

  it('reads nested paths', () => {
    expect(encodeKey({ ref: { id: 'x' } }, ['ref.id'])).toBe('x');
  });

  it('rejects missing, null, empty and non-scalar keys with the field named', () => {
    for (const record of [{}, { id: null }, { id: '' }, { id: { a: 1 } }, { id: Number.NaN }]) {
      expect(() => encodeKey(record, ['id'])).toThrow(RecordError);
    }
    expect(() => encodeKey({ a: 1 }, ['a', 'b'])).toThrow(/key field "b" is missing/);
  });
});

describe('scalarText and compareScalarText', () => {
  it('orders numbers numerically and other text by code unit', () => {
    expect(compareScalarText('9', '10')).toBeLessThan(0);
    expect(compareScalarText('10', '10')).toBe(0);
    expect(compareScalarText('2026-01-02T00:00:00Z', '2026-01-10T00:00:00Z')).toBeLessThan(0);
    expect(compareScalarText('12345678901234567890', '12345678901234567891')).toBeLessThan(0);
  });

  it('gives text for scalars and dates, null for absent values', () => {
    expect(scalarText(3)).toBe('3');
    expect(scalarText(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(scalarText(undefined)).toBeNull();
    expect(scalarText(null)).toBeNull();
  });
});
