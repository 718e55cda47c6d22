import { copyFileSync, existsSync } from 'node:fs';
import { SYNC_NODE_OPTIONS } from '../src/runtime/heap-tuning.ts';
import { CRM_FAULTS_OFF } from '../src/simulator/index.ts';
import { BenchError } from './bench-error.ts';
import type { Sizes } from './bench-options.ts';
import { runChild } from './child-process.ts';
import type { DestinationsBaselineArgs, DestinationsBaselineResult } from './destinations-baseline-child.ts';
import type { DestinationsChildArgs, DestinationsChildResult } from './destinations-child.ts';
import type { BenchLocation, Locations } from './locations.ts';
import { SimulatorProcess } from './simulator-process.ts';
import type { SyncChildArgs, SyncChildResult } from './sync-child.ts';
import { SEED } from './sync-scenario.ts';

/**
 * The destinations section: N synced customers pushed into the simulator's CRM, which answers
 * every request after a fixed service time, by an HTTP destination at several `concurrency`
 * settings and through the bulk endpoint, each from a fresh CRM and a fresh copy of the synced
 * store (no map, offset 0); and by a hand-written loop, one request at a time. Every run must leave
 * exactly N contacts, one per customer (the CRM's ground truth), or the section fails.
 */

export interface DestinationsShape {
  readonly records: number;
  /** The CRM's service time per request. */
  readonly latencyMs: number;
}

/** One push setting. */
export interface PushPlan {
  readonly label: string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly bulkMaxSize: number | null;
}

export interface PushRun {
  readonly plan: PushPlan;
  /** Requests the CRM can have in flight from this push: what bounds its service rate. */
  readonly inFlight: number;
  readonly push: DestinationsChildResult;
  /** Requests the CRM counted (`/_admin/crm/stats`). */
  readonly requests: number;
  readonly maxRequestsPerSecond: number;
}

export interface DestinationsBaselineRun {
  readonly result: DestinationsBaselineResult;
  readonly requests: number;
}

export interface DestinationsScenario {
  readonly shape: DestinationsShape;
  readonly sync: SyncChildResult;
  readonly runs: readonly PushRun[];
  readonly baseline: DestinationsBaselineRun;
}

/**
 * 5,000 customers at full size (N >= 100,000), 100 below (the one-in-flight runs take 40 ms a
 * record); 20 ms per CRM answer.
 */
export function destinationsShape(sizes: Sizes): DestinationsShape {
  return { records: sizes.records >= 100_000 ? 5000 : 100, latencyMs: 20 };
}

/** Single-object pushes at the default batch size, then the bulk endpoint at one and eight requests in flight. */
export const PUSH_PLANS: readonly PushPlan[] = [
  { label: 'find + create, concurrency 1', concurrency: 1, batchSize: 50, bulkMaxSize: null },
  { label: 'find + create, concurrency 8', concurrency: 8, batchSize: 50, bulkMaxSize: null },
  { label: 'find + create, concurrency 32', concurrency: 32, batchSize: 50, bulkMaxSize: null },
  { label: 'bulk upsert of 100, concurrency 1', concurrency: 1, batchSize: 100, bulkMaxSize: 100 },
  { label: 'bulk upsert of 100, concurrency 8', concurrency: 8, batchSize: 800, bulkMaxSize: 100 },
];

/** Requests one push keeps in flight at most: its concurrency, or the bulk chunks of one batch. */
export function inFlight(plan: PushPlan): number {
  if (plan.bulkMaxSize === null) return Math.min(plan.concurrency, plan.batchSize);
  return Math.min(plan.concurrency, Math.ceil(plan.batchSize / plan.bulkMaxSize));
}

/** What the CRM serves at most with `inFlight` requests in flight, requests per second. */
export function serviceRate(inFlightRequests: number, latencyMs: number): number {
  return (inFlightRequests * 1000) / latencyMs;
}

function totalRequests(requests: Readonly<Record<string, number>>): number {
  return Object.values(requests).reduce((a, b) => a + b, 0);
}

/** Exactly one contact per customer, `records` in all; else the bench fails. */
async function checkContacts(sim: SimulatorProcess, records: number, what: string): Promise<void> {
  const contacts = await sim.crmContacts();
  const ids = new Set(contacts.map((c) => c.external_id));
  if (contacts.length !== records || ids.size !== records) {
    throw new BenchError(
      `destinations: ${what} left ${contacts.length} contacts for ${ids.size} customers in the CRM, expected ${records} of each`,
    );
  }
}

/** A fresh copy of the synced store: no destination map, no consumer offset. */
async function copyOf(locations: Locations, synced: BenchLocation): Promise<BenchLocation> {
  const copy = await locations.fresh('sqlite');
  for (const suffix of ['', '-wal']) {
    const from = `${synced.sqlitePath!}${suffix}`;
    if (existsSync(from)) copyFileSync(from, `${copy.sqlitePath!}${suffix}`);
  }
  return copy;
}

export async function runDestinationsScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<DestinationsScenario> {
  const shape = destinationsShape(sizes);
  const synced = await locations.fresh('sqlite');
  const sim = await SimulatorProcess.start(shape.records, SEED);
  try {
    log(`destinations: full sync of ${shape.records.toLocaleString('en-US')} records into SQLite`);
    const syncArgs: SyncChildArgs = { apiUrl: sim.url, store: synced.location };
    const sync = await runChild<SyncChildResult>(
      'sync-child.ts',
      syncArgs,
      'destinations sync',
      SYNC_NODE_OPTIONS,
    );
    await sim.configureCrm({
      latencyMs: shape.latencyMs,
      idempotency: true,
      rateLimit: null,
      token: null,
      faults: CRM_FAULTS_OFF,
    });
    const runs: PushRun[] = [];
    for (const plan of PUSH_PLANS) {
      await sim.resetCrm();
      const copy = await copyOf(locations, synced);
      try {
        log(
          `destinations: push, ${plan.label}, batches of ${plan.batchSize}, CRM ${shape.latencyMs} ms per answer`,
        );
        const args: DestinationsChildArgs = {
          store: copy.location,
          apiUrl: sim.url,
          concurrency: plan.concurrency,
          batchSize: plan.batchSize,
          bulkMaxSize: plan.bulkMaxSize,
        };
        const push = await runChild<DestinationsChildResult>(
          'destinations-child.ts',
          args,
          'destination push',
        );
        if (push.changes !== shape.records) {
          throw new BenchError(
            `destinations: the change log held ${push.changes} changes, expected ${shape.records}`,
          );
        }
        await checkContacts(sim, shape.records, plan.label);
        const stats = await sim.crmStats();
        runs.push({
          plan,
          inFlight: inFlight(plan),
          push,
          requests: totalRequests(stats.requests),
          maxRequestsPerSecond: stats.maxRequestsPerSecond,
        });
      } finally {
        await locations.drop(copy);
      }
    }
    await sim.resetCrm();
    log('destinations: hand-written push, fetch, one request at a time');
    const baselineArgs: DestinationsBaselineArgs = { store: synced.location, apiUrl: sim.url };
    const result = await runChild<DestinationsBaselineResult>(
      'destinations-baseline-child.ts',
      baselineArgs,
      'destinations baseline',
    );
    await checkContacts(sim, shape.records, 'the hand-written push');
    const baseline = { result, requests: totalRequests((await sim.crmStats()).requests) };
    return { shape, sync, runs, baseline };
  } finally {
    await sim.stop();
    await locations.drop(synced);
  }
}
