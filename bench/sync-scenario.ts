import { setTimeout as sleep } from 'node:timers/promises';
import { SYNC_NODE_OPTIONS } from '../src/runtime/heap-tuning.ts';
import { changesFor } from './bench-options.ts';
import { runChild } from './child-process.ts';
import { LOOKBACK_MS, SAFETY_LAG_MS } from './customers-stream.ts';
import type { Locations, StoreKind } from './locations.ts';
import { countSince, newestUpdatedAt } from './page-walk.ts';
import {
  type ApiTraffic,
  type MutationCounts,
  type MutationMix,
  SimulatorProcess,
} from './simulator-process.ts';
import type { SyncChildArgs, SyncChildResult } from './sync-child.ts';

/**
 * Syncline on one store and one source size, in runs on the same store like a scheduled sync:
 * the full sync; then (optionally) 0.1% of the records change and an incremental run follows;
 * then two polls with nothing changed. The simulator runs in its own process, fresh per scenario.
 */

/** The seed of every simulator: the same records in every scenario. */
export const SEED = 7;
/** Changes: half plain updates (`updated_at` = now), half backdated at most 30 min behind the newest. */
const CHANGE_MIX: MutationMix = { insert: 0, update: 1, backdate: 1, burst: 0, softDelete: 0, hardDelete: 0 };
const BACKDATE_MAX_MS = 1_800_000;

/** One Syncline run, measured by the sync process itself and, independently, by the simulator. */
export interface SyncMeasurement extends SyncChildResult {
  /** `/v1` requests and 304 answers the simulator counted during the run. */
  readonly traffic: ApiTraffic;
  /** CPU seconds the simulator spent during the run; null where it cannot be read. */
  readonly simCpuSeconds: number | null;
}

/** What the incremental run's lookback window holds at the source. */
export interface LookbackWindow {
  /** The newest `updated_at` after the full sync: where the stream's watermark is. */
  readonly watermark: string;
  /** The watermark minus the lookback: where the incremental pass starts. */
  readonly since: string;
  /** Records at or after `since` before the changes: what the lookback alone re-reads. */
  readonly before: number;
  /** Records at or after `since` after the changes: what the incremental pass reads. */
  readonly after: number;
}

export interface SyncScenario {
  readonly store: StoreKind;
  readonly records: number;
  readonly simStartupMs: number;
  readonly full: SyncMeasurement;
  /** Present when the scenario includes the incremental part. */
  readonly incremental: {
    readonly changes: MutationCounts;
    readonly window: LookbackWindow;
    readonly run: SyncMeasurement;
    /** Two runs with nothing changed: the first after a multi-page pass, the second after it. */
    readonly polls: readonly [SyncMeasurement, SyncMeasurement];
  } | null;
}

async function measuredRun(sim: SimulatorProcess, store: string, label: string): Promise<SyncMeasurement> {
  const before = await sim.traffic();
  const cpuBefore = sim.cpuSeconds();
  const args: SyncChildArgs = { apiUrl: sim.url, store };
  // Started as the CLI starts (`bin/syncline.mjs`), with the Node options a sync process should have.
  const result = await runChild<SyncChildResult>('sync-child.ts', args, label, SYNC_NODE_OPTIONS);
  const after = await sim.traffic();
  const cpuAfter = sim.cpuSeconds();
  return {
    ...result,
    traffic: {
      requests: after.requests - before.requests,
      notModified: after.notModified - before.notModified,
    },
    simCpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
  };
}

export async function runSyncScenario(
  locations: Locations,
  spec: { readonly store: StoreKind; readonly records: number; readonly incremental: boolean },
  log: (line: string) => void,
): Promise<SyncScenario> {
  const name = `${spec.store} ${spec.records.toLocaleString('en-US')}`;
  const sim = await SimulatorProcess.start(spec.records, SEED);
  const location = await locations.fresh(spec.store);
  try {
    log(`${name}: full sync`);
    const full = await measuredRun(sim, location.location, `${spec.store} full`);
    if (!spec.incremental) return { ...spec, simStartupMs: sim.startupMs, full, incremental: null };

    const watermark = await newestUpdatedAt(sim.url);
    const since = new Date(Date.parse(watermark) - LOOKBACK_MS).toISOString();
    const before = await countSince(sim.url, since);
    await sim.setMutations(CHANGE_MIX, BACKDATE_MAX_MS);
    const changes = await sim.mutate(changesFor(spec.records));
    const after = await countSince(sim.url, since);
    // A scheduled sync comes later than the stream's safety lag after the last change; a run
    // sooner would cap its watermark at now - lag, move it again on each poll, and so never repeat
    // a request a 304 could answer.
    await sleep(SAFETY_LAG_MS + 500);
    // ...by which time the server has written out the full load, as a scheduled run would find it.
    await locations.settle();
    log(`${name}: ${changes.records} records changed; incremental run`);
    const run = await measuredRun(sim, location.location, `${spec.store} incremental`);
    log(`${name}: unchanged polls`);
    const poll1 = await measuredRun(sim, location.location, `${spec.store} poll`);
    const poll2 = await measuredRun(sim, location.location, `${spec.store} poll`);
    return {
      ...spec,
      simStartupMs: sim.startupMs,
      full,
      incremental: { changes, window: { watermark, since, before, after }, run, polls: [poll1, poll2] },
    };
  } finally {
    await locations.drop(location);
    await sim.stop();
  }
}
