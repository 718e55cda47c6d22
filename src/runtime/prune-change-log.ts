import type { ChangeFeed } from '../core/store.ts';
import type { Logger } from '../core/types.ts';

/**
 * Rows a prune deletes per call, each call its own short transaction (on SQLite the write lock is
 * held for one DELETE of at most this many rows: a commit of another process waits that long).
 */
export const PRUNE_BATCH = 10_000;

export interface PruneChangeLogArgs {
  readonly store: ChangeFeed;
  /** `changes.retention`: rows younger than this stay. */
  readonly retentionMs: number;
  readonly log: Logger;
  /** Aborting stops between two calls. */
  readonly stop?: AbortSignal;
  /** Epoch ms the window is measured back from. Default now. */
  readonly now?: number;
}

/**
 * Applies the change log's retention (at the end of a sync): deletes, `PRUNE_BATCH` rows a call
 * until none is left, the rows every registered consumer has acknowledged and that are older than
 * the window. A failure is logged, never thrown: the runs it follows stand as they ended, and the
 * next prune deletes what this one left. Returns how many rows went.
 */
export async function pruneChangeLog(args: PruneChangeLogArgs): Promise<number> {
  const olderThan = new Date((args.now ?? Date.now()) - args.retentionMs).toISOString();
  let deleted = 0;
  try {
    for (;;) {
      if (args.stop?.aborted) break;
      const n = await args.store.pruneChanges({ olderThan, limit: PRUNE_BATCH });
      deleted += n;
      if (n < PRUNE_BATCH) break;
    }
  } catch (error) {
    args.log.warn(
      { err: error, deleted, olderThan },
      'could not prune the change log; the next sync tries again',
    );
    return deleted;
  }
  if (deleted > 0) args.log.info({ deleted, olderThan }, 'pruned the change log');
  return deleted;
}
