import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyFilter } from './key-filter.ts';

describe('KeyFilter', () => {
  it('never answers "certainly not added" for a key that was added', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 300 }), (keys) => {
        const filter = new KeyFilter({ firstCapacity: 16 });
        for (const key of keys) filter.add(key);
        return keys.every((key) => filter.mightContain(key));
      }),
    );
  });

  it('answers "not added" for an empty filter, and keeps false positives under 5% as it grows', () => {
    const filter = new KeyFilter({ firstCapacity: 16_384 });
    expect(filter.mightContain('cus_000000001')).toBe(false);
    const n = 200_000;
    for (let i = 0; i < n; i++) filter.add(`cus_${String(i).padStart(9, '0')}`);
    for (let i = 0; i < n; i += 997)
      expect(filter.mightContain(`cus_${String(i).padStart(9, '0')}`)).toBe(true);
    let falsePositives = 0;
    for (let i = n; i < 2 * n; i++)
      if (filter.mightContain(`cus_${String(i).padStart(9, '0')}`)) falsePositives++;
    expect(falsePositives / n).toBeLessThan(0.05);
    expect(falsePositives).toBeGreaterThan(0);
  });

  it('stops growing at maxBytes and from then on answers "maybe" for every key', () => {
    const filter = new KeyFilter({ firstCapacity: 1024, maxBytes: 8 * 1024 });
    for (let i = 0; i < 10_000; i++) filter.add(`k${i}`);
    for (let i = 0; i < 100; i++) expect(filter.mightContain(`never-added-${i}`)).toBe(true);
  });
});
