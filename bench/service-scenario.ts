import type { Sizes } from './bench-options.ts';
import { runChild } from './child-process.ts';
import type { Locations } from './locations.ts';
import type { ServiceChildArgs, ServiceChildResult } from './service-child.ts';
import { SimulatorProcess } from './simulator-process.ts';
import { SEED } from './sync-scenario.ts';

/** The service section: many small streams on one short schedule, against a simulator of its own. */
export interface ServiceScenario extends ServiceChildResult {
  readonly streams: number;
  readonly everyMs: number;
  readonly durationMs: number;
  readonly concurrency: number;
  /** Customers each stream syncs (the same endpoint for every stream). */
  readonly records: number;
}

/** 100 streams every 5 s for a minute at full size; 5 streams every second for a few at `tiny`. */
export function serviceShape(sizes: Sizes) {
  const full = sizes.records >= 100_000;
  return full
    ? { streams: 100, everyMs: 5000, warmupMs: 15_000, durationMs: 60_000, concurrency: 16, records: 200 }
    : { streams: 5, everyMs: 1000, warmupMs: 3000, durationMs: 5000, concurrency: 4, records: 50 };
}

export async function runServiceScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<ServiceScenario> {
  const shape = serviceShape(sizes);
  const sim = await SimulatorProcess.start(shape.records, SEED);
  const location = await locations.fresh('sqlite');
  try {
    log(
      `service: ${shape.streams} streams every ${shape.everyMs / 1000} s for ${shape.durationMs / 1000} s ` +
        `(after ${shape.warmupMs / 1000} s of warm-up)`,
    );
    const args: ServiceChildArgs = { apiUrl: sim.url, store: location.location, ...shape };
    const result = await runChild<ServiceChildResult>('service-child.ts', args, 'service');
    return { ...result, ...shape };
  } finally {
    await sim.stop();
    await locations.drop(location);
  }
}
