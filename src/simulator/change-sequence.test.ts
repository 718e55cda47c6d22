import { describe, expect, it } from 'vitest';
import { ChangeSequence } from './change-sequence.ts';
import { Prng } from './prng.ts';

describe('ChangeSequence', () => {
  it('keeps each record at its latest number and counts what follows any position, as a brute force does', () => {
    const base = 37;
    const changes = new ChangeSequence(base);
    const seqOf = new Map<number, number>(Array.from({ length: base }, (_, i) => [i, i + 1]));
    let count = base;
    const prng = new Prng(11);
    for (let step = 0; step < 400; step++) {
      // Inserts (new indexes) and changes to random existing ones.
      const index = prng.next() < 0.2 ? count++ : prng.int(count);
      const seq = changes.stamp(index);
      seqOf.set(index, seq);
      expect(seq).toBe(changes.last);
      const current = [...seqOf].map(([i, s]) => ({ seq: s, index: i })).sort((a, b) => a.seq - b.seq);
      for (const since of [0, 1, prng.int(changes.last + 1), changes.last - 1, changes.last]) {
        expect(changes.pendingAfter(since)).toBe(current.filter((c) => c.seq > since).length);
        expect(changes.after(since, 7)).toEqual(current.filter((c) => c.seq > since).slice(0, 7));
      }
    }
  });
});
