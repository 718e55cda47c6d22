/**
 * Seeded randomness for the simulator. Everything it invents (record content, mutation choices,
 * fault draws) comes from here, so one seed reproduces one world.
 */

import { mix32 } from '../core/mix32.ts';

/** Hashes a few integers (seed, index, version, salt...) into one 32-bit value. */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    h = mix32(h ^ value);
    // Values outside 32 bits (timestamps, huge indexes) mix in their high part too.
    if (value < 0 || value > 0xffffffff) h = mix32(h ^ Math.floor(value / 4294967296));
  }
  return h;
}

/** `hashInts` for three 32-bit values, without the variadic call (hot path of record generation). */
export function hash3(a: number, b: number, c: number): number {
  return mix32(mix32(mix32(0x9e3779b9 ^ a) ^ b) ^ c);
}

/** `hash3` with a fourth value. */
export function hash4(a: number, b: number, c: number, d: number): number {
  return mix32(hash3(a, b, c) ^ d);
}

/** A small seeded generator (mulberry32): fast, 32-bit state, good enough for test data. */
export class Prng {
  private state: number;

  constructor(...seed: number[]) {
    this.state = hashInts(...seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}
