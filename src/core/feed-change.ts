import type {
  ChangeKind,
  ChangeRow,
  Checkpoint,
  Json,
  LogRow,
  RunCounters,
  RunMode,
  RunStatus,
} from './types.ts';

/**
 * A change as the change feed delivers it (`syncline changes --json` prints one a line; `changes()`
 * yields them in batches). Delivery is at least once: a consumer dedupes on `id`.
 */
export interface FeedChange {
  /** `<stream>:<seq>`: stable, the same every time the change is delivered. */
  readonly id: string;
  /** The change log's sequence number: strictly increasing in commit order, never reused. */
  readonly seq: number;
  readonly stream: string;
  readonly key: string;
  readonly kind: ChangeKind;
  /** The record's version and hash as this change wrote them. */
  readonly version: string | null;
  readonly hash: string;
  /** The run that committed it. */
  readonly run: string;
  /** When its page committed (ISO-8601 UTC). */
  readonly committedAt: string;
  /**
   * The key's latest state when the change was read: its record, or null when the key is deleted
   * now. A later change of the same key may already show here; its own change follows in the feed,
   * so a consumer that reads to the end holds every key's latest committed state.
   */
  readonly data: Json | null;
}

/** A change-log row read with its data, as the feed delivers it. */
export function feedChange(row: ChangeRow): FeedChange {
  return {
    id: `${row.stream}:${row.seq}`,
    seq: row.seq,
    stream: row.stream,
    key: row.key,
    kind: row.kind,
    version: row.version,
    hash: row.hash,
    run: row.runId,
    committedAt: row.at,
    data: row.data ?? null,
  };
}

/**
 * A finished run as sinks deliver it (`kinds: [..., run]`): in seq order after the run's changes.
 * Only runs that changed something or did not end `ok` are in the log (see `RunLogRow`).
 */
export interface RunEvent {
  /** `<stream>:<seq>`, as a change's. */
  readonly id: string;
  readonly seq: number;
  readonly stream: string;
  /** The run's id, as `run`: the change log keys a run's row by it. */
  readonly key: string;
  readonly kind: 'run';
  readonly run: string;
  /** When the run finished (ISO-8601 UTC). */
  readonly committedAt: string;
  readonly mode: RunMode;
  /** `ok`, `failed`, `interrupted` or `partial`. */
  readonly status: Exclude<RunStatus, 'running'>;
  readonly startedAt: string;
  readonly counters: RunCounters;
  readonly checkpointBefore: Checkpoint;
  readonly checkpointAfter: Checkpoint;
  /** Whether the run moved the stream's checkpoint. */
  readonly checkpointMoved: boolean;
  /** Why it failed, one line; null for `ok`. */
  readonly error: string | null;
}

/** What a sink delivers: a record's change, or a finished run. */
export type FeedEvent = FeedChange | RunEvent;

/**
 * A change-log row as a sink delivers it; null for a run row whose run record is gone (a reset
 * stream), which is passed over.
 */
export function feedEvent(row: LogRow): FeedEvent | null {
  if (row.kind !== 'run') return feedChange(row);
  const run = row.run;
  if (run === null) return null;
  return {
    id: `${row.stream}:${row.seq}`,
    seq: row.seq,
    stream: row.stream,
    key: row.runId,
    kind: 'run',
    run: row.runId,
    committedAt: row.at,
    mode: run.mode,
    status: run.status === 'running' ? 'failed' : run.status,
    startedAt: run.startedAt,
    counters: run.counters,
    checkpointBefore: run.checkpointBefore,
    checkpointAfter: run.checkpointAfter,
    checkpointMoved: JSON.stringify(run.checkpointBefore) !== JSON.stringify(run.checkpointAfter),
    error: run.error,
  };
}
