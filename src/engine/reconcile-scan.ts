import { nowIso } from '../core/clock.ts';
import { SyncError } from '../core/errors.ts';
import type { RunStore } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import type { Json, Lease, Logger, RunCounters } from '../core/types.ts';
import type { PreparedPage } from './page-preparer.ts';

/**
 * The id under which a reconciliation records the keys it saw. One per stream: only the lease holder
 * scans, and a scan left behind by a killed run is dropped when the next one starts.
 */
export const SCAN_ID = 'reconcile';

/** The keys a page proves the source still has: records written or not, and dead letters with keys. */
export function seenKeys(page: PreparedPage): string[] {
  const keys = page.records.map((r) => r.key);
  for (const letter of page.deadLetters) if (letter.key !== null) keys.push(letter.key);
  return keys;
}

/** Clears what an earlier, unfinished scan left: its seen keys and its position. */
export async function startScan(store: RunStore, stream: string): Promise<void> {
  await store.dropScan(stream, SCAN_ID);
  await store.resetCheckpoint(stream, nowIso(), 'backfill');
}

/** A completed scan would delete more than the configured share: stop for an operator. */
export class DeletePausedError extends SyncError {}

/**
 * Ends a reconciliation. Only a scan that read the source to its end may delete: it soft-deletes
 * the live rows it did not see, unless they are more than `maxDeleteShare` of the stream (then it
 * pauses for `syncline approve`, deleting nothing). A failed, partial or interrupted scan deletes
 * nothing. Either way the scan's keys and position are cleared. The evidence reports the drift the
 * scan repaired (records incremental syncs had missed), since drift is a bug signal.
 */
export async function finishScan(args: {
  store: RunStore;
  stream: AnyStreamDefinition;
  lease: Lease;
  runId: string;
  totals: RunCounters;
  approved: boolean;
  ok: boolean;
  log: Logger;
}): Promise<{ evidence: Json; paused: DeletePausedError | null }> {
  const { store, stream, totals } = args;
  const name = stream.name;
  const drift = { inserted: totals.inserted, updated: totals.updated, deleted: totals.deleted };
  try {
    if (!args.ok) {
      await store.dropScan(name, SCAN_ID);
      return { evidence: { kind: 'reconcile', completed: false, drift }, paused: null };
    }
    const { live, unseen } = await store.countUnseen(name, SCAN_ID);
    const maxShare = stream.reconcile?.maxDeleteShare ?? 0.1;
    if (unseen > 0 && live > 0 && unseen / live > maxShare && !args.approved) {
      await store.dropScan(name, SCAN_ID);
      const evidence: Json = {
        kind: 'reconcile',
        completed: true,
        drift,
        wouldDelete: unseen,
        live,
        maxDeleteShare: maxShare,
      };
      const paused = new DeletePausedError(
        `stream "${name}": the reconciliation would delete ${unseen} of ${live} live records ` +
          `(${((unseen / live) * 100).toFixed(1)}%, over ${(maxShare * 100).toFixed(1)}%); nothing was deleted. ` +
          `Check the source, then run \`syncline approve ${name}\` and reconcile again`,
        { stream: name },
      );
      return { evidence, paused };
    }
    const deleted =
      unseen > 0
        ? await store.completeScan({
            stream: name,
            scanId: SCAN_ID,
            runId: args.runId,
            lease: args.lease,
            at: nowIso(),
          })
        : null;
    if (!deleted) await store.dropScan(name, SCAN_ID);
    totals.deleted += deleted?.deleted ?? 0;
    const repaired = drift.inserted + drift.updated + drift.deleted;
    if (repaired > 0) {
      args.log.warn(
        { stream: name, ...drift },
        'the reconciliation repaired drift that incremental syncs had missed',
      );
    }
    return {
      evidence: {
        kind: 'reconcile',
        completed: true,
        drift,
        deletedMissing: deleted?.deleted ?? 0,
        sampleDeleted: [...(deleted?.sample ?? [])],
      },
      paused: null,
    };
  } finally {
    await store.resetCheckpoint(name, nowIso(), 'backfill');
  }
}

/** Changes (inserts + updates + deletes) of the stream's recent successful sync runs, newest first. */
export async function recentChanges(store: RunStore, stream: string): Promise<number[]> {
  const runs = await store.listRuns({ stream, mode: 'sync', status: 'ok', limit: 20 });
  return runs.map((r) => r.counters.inserted + r.counters.updated + r.counters.deleted);
}
