/**
 * One Syncline run through the public API, in its own process: `sync(defineConfig(...))` with the
 * demo's declarative `customers` stream (`customers-stream.ts`). Run it again on the same store
 * for an incremental run. Prints wall time, peak RSS, CPU time and the run's counters.
 */
import { type RunCounters, sync } from '../src/index.ts';
import { tuneHeapForSync } from '../src/runtime/heap-tuning.ts';
import { SyncRunError } from './bench-error.ts';
import { childArgs, cpuSeconds, peakRssMb, progress, runChildMain } from './child-io.ts';
import { customersConfig } from './customers-stream.ts';

export interface SyncChildArgs {
  readonly apiUrl: string;
  /** A SQLite file path or a `postgres://...?schema=` URL. */
  readonly store: string;
}

export interface SyncChildResult {
  /** Time inside `sync()`: opening the store, the run, closing it (not Node's start-up). */
  readonly wallMs: number;
  readonly peakRssMb: number;
  readonly cpuSeconds: number;
  readonly counters: RunCounters;
}

async function main(): Promise<SyncChildResult> {
  // As the CLI does at start: the process syncs, so V8's heap growth is capped.
  tuneHeapForSync();
  const args = childArgs<SyncChildArgs>();
  const cpuBefore = cpuSeconds();
  const began = performance.now();
  const [outcome] = await sync(customersConfig(args.apiUrl, args.store));
  const wallMs = performance.now() - began;
  if (outcome?.status !== 'ok') {
    throw new SyncRunError(
      `the run ended ${outcome?.status ?? 'without an outcome'}: ${outcome?.error ?? ''}`,
    );
  }
  const c = outcome.counters;
  progress(
    `${c.fetched} fetched, ${c.inserted + c.updated + c.deleted} written, ${c.apiCalls} requests ` +
      `in ${(wallMs / 1000).toFixed(1)} s`,
  );
  return { wallMs, peakRssMb: peakRssMb(), cpuSeconds: cpuSeconds() - cpuBefore, counters: c };
}

runChildMain(main);
