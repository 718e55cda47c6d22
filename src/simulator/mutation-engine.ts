import type { Dataset } from './dataset.ts';
import { Prng } from './prng.ts';
import type { MutationConfig, MutationKind } from './simulator-options.ts';

/** How many mutations of each kind were applied, and how many records they touched. */
export type MutationCounts = Record<MutationKind, number> & { records: number };

export function emptyMutationCounts(): MutationCounts {
  return {
    insert: 0,
    update: 0,
    backdate: 0,
    burst: 0,
    softDelete: 0,
    hardDelete: 0,
    regress: 0,
    records: 0,
  };
}

// New kinds go last: with weight 0 they leave the draws of every existing seed as they were.
const KINDS: readonly MutationKind[] = [
  'insert',
  'update',
  'backdate',
  'burst',
  'softDelete',
  'hardDelete',
  'regress',
];

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

  /**
   * Now, but strictly after every `updated_at` served so far (mutations' and `recordMs`, the
   * record's own): a regression must be newer than each state it replaces, even within one
   * millisecond, or a reader could not tell it from an out-of-order old copy.
   */
  private later(recordMs: number): number {
    this.lastNow = Math.max(this.clock(), this.lastNow + 1, recordMs + 1);
    return this.lastNow;
  }

  /** Applies one mutation; returns the kind actually applied (fallbacks change it). */
  private applyOne(dataset: Dataset, wanted: MutationKind): MutationKind {
    const draw = (): number => this.prng.next();
    const now = this.now();
    let kind = wanted;
    // Candles are never deleted: a delete becomes a correction.
    if (!dataset.kind.supportsDelete && (kind === 'softDelete' || kind === 'hardDelete')) kind = 'update';
    if (kind === 'regress') {
      // Only a live record with a version above 1 can go back; candles are never rolled back.
      const index = dataset.kind.supportsRegress ? dataset.pick(draw, true, 2) : -1;
      if (index >= 0) {
        // Restored from a backup of a random older version: that version's content, served anew.
        const state = dataset.stateOf(index);
        const version = 1 + Math.floor(draw() * (state.version - 1));
        dataset.regress(index, version, this.later(state.updatedMs));
        return kind;
      }
      kind = 'update';
    }
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
      // Never behind the record's last regression while it is still below a version it had before
      // it: see Dataset.backdateFloorMs.
      const at = Math.max(keep ? dataset.stateOf(index).updatedMs : behind, dataset.backdateFloorMs(index));
      dataset.update(index, at, now);
    } else if (kind === 'softDelete') dataset.softDelete(index, now);
    else dataset.hardDelete(index, now);
    return kind;
  }
}
