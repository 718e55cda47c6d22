import type { SyncEventBus, SyncEvents } from '../core/events.ts';

export type DestinationOutcomeName = SyncEvents['destination:written']['outcome'];

/** How long the error rate looks back. */
export const ERROR_WINDOW_MS = 5 * 60_000;
/** The window is kept in buckets this wide. */
const BUCKET_MS = 10_000;

const OUTCOMES: readonly DestinationOutcomeName[] = ['ok', 'unchanged', 'skipped', 'retry', 'fail'];

function zero(): Record<DestinationOutcomeName, number> {
  return { ok: 0, unchanged: 0, skipped: 0, retry: 0, fail: 0 };
}

/**
 * What each destination's writes came to, from the `destination:written` events of the service:
 * totals since it started, and the error rate of the last five minutes, the share of records
 * attempted (written, skipped, to retry, refused; not the unchanged ones, which send nothing) that
 * had to be retried or were refused.
 */
export class DestinationTally {
  readonly #totals = new Map<string, Record<DestinationOutcomeName, number>>();
  readonly #buckets = new Map<string, { at: number; errors: number; attempts: number }[]>();
  readonly #off: () => void;
  readonly #now: () => number;

  constructor(events: SyncEventBus, now: () => number = Date.now) {
    this.#now = now;
    this.#off = events.on('destination:written', (e) => this.#add(e));
  }

  /** Records per outcome since the service started (all 0 before the first batch). */
  totals(destination: string): Record<DestinationOutcomeName, number> {
    return { ...(this.#totals.get(destination) ?? zero()) };
  }

  /** Retried and refused records per record attempted, over the last five minutes; null if none. */
  errorRate(destination: string): number | null {
    const since = this.#now() - ERROR_WINDOW_MS;
    let errors = 0;
    let attempts = 0;
    for (const b of this.#buckets.get(destination) ?? []) {
      if (b.at < since) continue;
      errors += b.errors;
      attempts += b.attempts;
    }
    return attempts === 0 ? null : errors / attempts;
  }

  close(): void {
    this.#off();
  }

  #add(e: SyncEvents['destination:written']): void {
    if (!OUTCOMES.includes(e.outcome)) return;
    const totals = this.#totals.get(e.destination) ?? zero();
    totals[e.outcome] += e.count;
    this.#totals.set(e.destination, totals);
    if (e.outcome === 'unchanged') return;
    const at = Math.floor(this.#now() / BUCKET_MS) * BUCKET_MS;
    const buckets = (this.#buckets.get(e.destination) ?? []).filter((b) => b.at >= at - ERROR_WINDOW_MS);
    let bucket = buckets.at(-1);
    if (bucket?.at !== at) {
      bucket = { at, errors: 0, attempts: 0 };
      buckets.push(bucket);
    }
    bucket.attempts += e.count;
    if (e.outcome === 'retry' || e.outcome === 'fail') bucket.errors += e.count;
    this.#buckets.set(e.destination, buckets);
  }
}
