import type { InboxStore, RunLog } from '../core/store.ts';
import type { Checkpoint } from '../core/types.ts';

/** Events waiting are counted up to this many, then shown as "10,000+". */
export const WEBHOOK_BACKLOG_LIMIT = 10_000;

/** Where a webhook stream is: what waits in its inbox, and what its safety net last found. */
export interface WebhookState {
  /** Events received but not applied yet (at most `WEBHOOK_BACKLOG_LIMIT + 1`). */
  readonly backlog: number;
  /**
   * The last reconciliation that ended ok (its full read over REST, `poll`): the changes it found
   * that webhooks had not delivered (records inserted, updated or deleted by it). Null before one.
   */
  readonly drift: {
    readonly runId: string;
    readonly endedAt: string | null;
    readonly changes: number;
  } | null;
}

/** A webhook stream's state from the store: its inbox after the checkpoint, its last reconciliation. */
export async function webhookState(
  store: Pick<InboxStore, 'inboxBacklog'> & Pick<RunLog, 'listRuns'>,
  stream: string,
  checkpoint: Checkpoint,
): Promise<WebhookState> {
  const afterId = (checkpoint as { inbox?: number } | null)?.inbox ?? 0;
  const backlog = await store.inboxBacklog({ stream, afterId, limit: WEBHOOK_BACKLOG_LIMIT + 1 });
  const runs = await store.listRuns({ stream, limit: 50 });
  const reconcile = runs.find((r) => r.mode === 'reconcile' && (r.status === 'ok' || r.status === 'partial'));
  return {
    backlog,
    drift: reconcile
      ? {
          runId: reconcile.runId,
          endedAt: reconcile.endedAt,
          changes: reconcile.counters.inserted + reconcile.counters.updated + reconcile.counters.deleted,
        }
      : null,
  };
}
