import type { Dataset } from './dataset.ts';
import { Prng } from './prng.ts';
import type { MutationConfig, MutationKind } from './simulator-options.ts';

/** How many mutations of each kind were applied, and how many records they touched. */
export type MutationCounts = Record<MutationKind, number> & { records: number };

export function emptyMutationCounts(): MutationCounts {
  return { insert: 0, update: 0, backdate: 0, burst: 0, softDelete: 0, hardDelete: 0, records: 0 };
}

const KINDS: readonly MutationKind[] = ['insert', 'update', 'backdate', 'burst', 'softDelete', 'hardDelete'];

/**
 * Changes the datasets underneath clients: at a steady rate in the background and on demand. The
 * sequence of choices (dataset, kind, record, backdating) comes from one PRNG seeded by the
 * simulator seed, so `mutate(n)` after the same history gives the same result; `updated_at` comes
 * from the clock (never going backwards), so it is reproducible only with an injected clock.
 */
export class MutationEngine {
  private readonly datasets: readonly Dataset[];
  private readonly prng: Prng;
  private readonly clock: () => number;
  private config: MutationConfig;
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private carry = 0;
  private lastNow = 0;
  readonly totals: MutationCounts = emptyMutationCounts();

  constructor(datasets: readonly Dataset[], seed: number, config: MutationConfig, clock: () => number) {
    this.datasets = datasets;
    this.prng = new Prng(seed, 0x6d757461);
    this.config = config;
    this.clock = clock;
  }

  get current(): MutationConfig {
    return this.config;
  }

  configure(config: MutationConfig): void {
    this.config = config;
    this.schedule();
  }

  /** Starts (or stops, at rate 0) the background timer. */
  schedule(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.config.ratePerSecond <= 0) return;
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), this.config.tickMs);
    // Background mutations must never keep a process alive on their own.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Applies `n` mutations now (a burst counts as one). */
  mutate(n: number): MutationCounts {
    const counts = emptyMutationCounts();
    const targets = this.datasets.filter(
      (d) => this.config.datasets === null || this.config.datasets.includes(d.name),
    );
    if (targets.length === 0) return counts;
    for (let i = 0; i < n; i++) {
      const dataset = targets[this.prng.int(targets.length)]!;
      const kind = this.applyOne(dataset, this.drawKind());
      counts[kind]++;
      this.totals[kind]++;
      const touched = kind === 'burst' ? this.config.burstSize : 1;
      counts.records += touched;
      this.totals.records += touched;
    }
    return counts;
  }

  private tick(): void {
    const now = performance.now();
    this.carry += (this.config.ratePerSecond * (now - this.lastTick)) / 1000;
    this.lastTick = now;
    const n = Math.floor(this.carry);
    this.carry -= n;
    if (n > 0) this.mutate(n);
  }

  private drawKind(): MutationKind {
    const mix = this.config.mix;
    const total = KINDS.reduce((sum, k) => sum + mix[k], 0);
    let u = this.prng.next() * total;
    for (const kind of KINDS) {
      u -= mix[kind];
      if (u < 0) return kind;
    }
    return 'update';
  }

  private now(): number {
    this.lastNow = Math.max(this.lastNow, this.clock());
    return this.lastNow;
  }

  /** Applies one mutation; returns the kind actually applied (fallbacks change it). */
  private applyOne(dataset: Dataset, wanted: MutationKind): MutationKind {
    const draw = (): number => this.prng.next();
    const now = this.now();
    let kind = wanted;
    // Candles are never deleted: a delete becomes a correction.
    if (!dataset.kind.supportsDelete && (kind === 'softDelete' || kind === 'hardDelete')) kind = 'update';
    if (kind === 'insert') {
      dataset.insert(now, draw());
      return kind;
    }
    if (kind === 'burst') {
      // Every record of a burst gets the identical updated_at, so they tie across page boundaries.
      for (let j = 0; j < this.config.burstSize; j++) {
        const index = dataset.pick(draw, true);
        if (index >= 0) dataset.update(index, now, now);
      }
      return kind;
    }
    const index = dataset.pick(draw, kind !== 'hardDelete');
    if (index < 0) {
      dataset.insert(now, draw());
      return 'insert';
    }
    if (kind === 'update') dataset.update(index, now, now);
    else if (kind === 'backdate') {
      // Half keep their old updated_at; half land up to backdateMaxMs behind the newest one.
      const keep = draw() < 0.5;
      const behind = dataset.maxUpdatedMs - 1 - Math.floor(draw() * this.config.backdateMaxMs);
      dataset.update(index, keep ? dataset.stateOf(index).updatedMs : behind, now);
    } else if (kind === 'softDelete') dataset.softDelete(index, now);
    else dataset.hardDelete(index, now);
    return kind;
  }
}
