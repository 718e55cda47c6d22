import type { BaselineChildArgs, BaselineChildResult } from './baseline-child.ts';
import { runChild } from './child-process.ts';
import type { LimitsChildArgs, LimitsChildResult } from './limits-child.ts';
import type { Locations } from './locations.ts';
import { SimulatorProcess } from './simulator-process.ts';
import { SEED } from './sync-scenario.ts';

/**
 * The measurements without Syncline: the limits (raw fetch, raw ingest) and the hand-written
 * baseline, against one simulator of the full size in its own process.
 */

export interface RawResults {
  readonly limits: LimitsChildResult | null;
  readonly baseline: BaselineChildResult | null;
}

/**
 * The limits child keeps the whole source in memory (rows and COPY text) so ingest is timed
 * without fetching; a million records need more than Node's default old space on small machines.
 */
const LIMITS_NODE_OPTIONS = ['--max-old-space-size=8192'];
/** The baseline's time budget per store (see `baseline-child.ts`): it reports the records it got to. */
const BASELINE_MAX_MS = 45_000;

export async function runRaw(
  locations: Locations,
  spec: { readonly records: number; readonly baselineRecords: number; limits: boolean; baseline: boolean },
  log: (line: string) => void,
): Promise<RawResults> {
  if (!spec.limits && !spec.baseline) return { limits: null, baseline: null };
  const sim = await SimulatorProcess.start(spec.records, SEED);
  try {
    let limits: LimitsChildResult | null = null;
    if (spec.limits) {
      log(`limits: raw fetch, COPY, INSERT of ${spec.records.toLocaleString('en-US')} records`);
      const pgLocation = await locations.fresh('postgres');
      const sqliteLocation = await locations.fresh('sqlite');
      try {
        const args: LimitsChildArgs = {
          apiUrl: sim.url,
          pg: pgLocation.pg,
          sqlitePath: sqliteLocation.sqlitePath,
        };
        limits = await runChild<LimitsChildResult>('limits-child.ts', args, 'limits', LIMITS_NODE_OPTIONS);
      } finally {
        await locations.drop(pgLocation);
        await locations.drop(sqliteLocation);
      }
    }
    let baseline: BaselineChildResult | null = null;
    if (spec.baseline) {
      log(`baseline: hand-written sync of ${spec.baselineRecords.toLocaleString('en-US')} records`);
      const pgLocation = await locations.fresh('postgres');
      const sqliteLocation = await locations.fresh('sqlite');
      try {
        const args: BaselineChildArgs = {
          apiUrl: sim.url,
          records: spec.baselineRecords,
          maxMs: BASELINE_MAX_MS,
          pg: pgLocation.pg,
          sqlitePath: sqliteLocation.sqlitePath,
        };
        baseline = await runChild<BaselineChildResult>('baseline-child.ts', args, 'baseline');
      } finally {
        await locations.drop(pgLocation);
        await locations.drop(sqliteLocation);
      }
    }
    return { limits, baseline };
  } finally {
    await sim.stop();
  }
}
