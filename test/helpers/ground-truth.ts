import type { Store } from '../../src/core/store.ts';
import type { SimulatorServer } from '../../src/simulator/index.ts';

/** How a store differs from the simulator's ground truth for one dataset. */
export interface Difference {
  /** Live at the source, absent (or soft-deleted) locally. */
  readonly missing: string[];
  /** Live at the source with a different hash locally. */
  readonly stale: string[];
  /** Deleted at the source (soft, or hard when `hardDeletes` is checked) but live locally. */
  readonly notDeleted: string[];
  /** Live locally, unknown to the source. */
  readonly extra: string[];
  readonly local: number;
}

/**
 * Compares every row of `stream` with the ground truth of `dataset`. Hard deletes are only checked
 * when `hardDeletes` is true (an incremental stream cannot see them without a tombstone feed).
 */
export async function diffWithGroundTruth(
  store: Store,
  stream: string,
  sim: SimulatorServer,
  dataset: string,
  options: { hardDeletes?: boolean } = {},
): Promise<Difference> {
  const truth = sim.groundTruth(dataset);
  const softHashes = new Map<string, string>();
  for (const entry of sim.groundTruthEntries(dataset)) {
    if (entry.status === 'soft_deleted' && entry.hash) softHashes.set(entry.key, entry.hash);
  }
  const rows = new Map<string, { hash: string; deleted: boolean }>();
  let afterKey: string | undefined;
  for (;;) {
    const batch = await store.scanRecords(stream, {
      limit: 5000,
      ...(afterKey !== undefined ? { afterKey } : {}),
    });
    for (const row of batch) {
      if (rows.has(row.key)) throw new Error(`key ${row.key} appears twice in ${stream}`);
      rows.set(row.key, { hash: row.hash, deleted: row.deletedAt !== null });
    }
    if (batch.length < 5000) break;
    afterKey = batch.at(-1)!.key;
  }
  const missing: string[] = [];
  const stale: string[] = [];
  const notDeleted: string[] = [];
  const extra: string[] = [];
  for (const [key, hash] of truth.live) {
    const row = rows.get(key);
    if (!row || row.deleted) missing.push(key);
    else if (row.hash !== hash) stale.push(key);
  }
  for (const [key, how] of truth.deleted) {
    const row = rows.get(key);
    if (how === 'soft') {
      if (row && !row.deleted) notDeleted.push(key);
      else if (row && softHashes.get(key) !== row.hash) stale.push(key);
    } else if (options.hardDeletes && row && !row.deleted) {
      notDeleted.push(key);
    }
  }
  for (const [key, row] of rows) {
    if (!row.deleted && !truth.live.has(key) && !truth.deleted.has(key)) extra.push(key);
  }
  return { missing, stale, notDeleted, extra, local: rows.size };
}

/** The same, shortened for an assertion: all lists empty means equal. */
export function summarize(diff: Difference) {
  return {
    missing: diff.missing.slice(0, 5),
    stale: diff.stale.slice(0, 5),
    notDeleted: diff.notDeleted.slice(0, 5),
    extra: diff.extra.slice(0, 5),
  };
}
