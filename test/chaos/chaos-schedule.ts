/** A small seeded PRNG (mulberry32): the same seed gives the same schedule of kills and mutations. */
export class ChaosRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** What the harness does to one `syncline sync` process. */
export type ChaosAction =
  | { readonly kind: 'finish'; readonly afterMs: number }
  | { readonly kind: 'kill'; readonly afterMs: number }
  | { readonly kind: 'term'; readonly afterMs: number };

/**
 * The schedule of one cycle: how many mutations to apply before the sync starts, and what happens
 * to the sync. Kills land anywhere from process start-up to the end of a run: mid-fetch,
 * mid-transaction, between pages, during a retry wait.
 */
export function nextCycle(random: ChaosRandom, service = false): { mutations: number; action: ChaosAction } {
  const mutations = random.int(0, 40);
  const roll = random.next();
  // The service lives longer: several scheduled runs of every stream, overlapping, before the signal.
  const afterMs = service ? random.int(500, 8000) : random.int(300, 3500);
  const action: ChaosAction =
    roll < 0.6
      ? { kind: 'kill', afterMs }
      : roll < 0.75
        ? { kind: 'term', afterMs }
        : { kind: 'finish', afterMs };
  return { mutations, action };
}
