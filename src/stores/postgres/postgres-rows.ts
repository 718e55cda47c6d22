import type { CheckpointSlot } from '../../core/store.ts';
import type {
  ChangeKind,
  ChangeRow,
  Checkpoint,
  Json,
  RunMode,
  RunRecord,
  RunStatus,
  StoredRecord,
  StreamState,
} from '../../core/types.ts';
import { COUNTER_COLUMNS, countersFromRow } from '../run-counters.ts';

/**
 * Rows as pg returns them, and their mapping to core types. pg hands back `timestamptz` as `Date`,
 * `jsonb` parsed, and `bigint` as strings (it cannot know they fit a JS number); ours always do.
 */

/** A JSON value as a `jsonb` parameter: text to cast with `::jsonb`, SQL NULL for JSON null. */
export function jsonParam(value: Json): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** `pages = pages + $<first>, fetched = fetched + $<first+1>, ...` */
export function counterIncrements(firstParam: number): string {
  return COUNTER_COLUMNS.map((column, i) => `${column} = ${column} + $${firstParam + i}::bigint`).join(', ');
}

export function iso(value: Date): string;
export function iso(value: Date | null): string | null;
export function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/** The columns of a `StateRow`, in `SELECT`s of `syncline_state`. */
export const STATE_COLUMNS =
  'stream, checkpoint, newest_cursor, lease_holder, lease_epoch, lease_expires_at, updated_at, backfill_checkpoint, approved';

/** The `syncline_state` column of each checkpoint slot. */
export const SLOT_COLUMN = { main: 'checkpoint', backfill: 'backfill_checkpoint' } as const satisfies Record<
  CheckpointSlot,
  string
>;

export interface StateRow {
  stream: string;
  checkpoint: Checkpoint;
  newest_cursor: string | null;
  lease_holder: string | null;
  lease_epoch: string;
  lease_expires_at: Date | null;
  updated_at: Date;
  backfill_checkpoint: Checkpoint;
  approved: boolean;
}

export function toStreamState(row: StateRow): StreamState {
  return {
    stream: row.stream,
    checkpoint: row.checkpoint,
    newestCursor: row.newest_cursor,
    leaseHolder: row.lease_holder,
    leaseEpoch: Number(row.lease_epoch),
    leaseExpiresAt: iso(row.lease_expires_at),
    updatedAt: iso(row.updated_at),
    backfillCheckpoint: row.backfill_checkpoint,
    approved: row.approved,
  };
}

export type RunRow = {
  run_id: string;
  stream: string;
  mode: RunMode;
  status: RunStatus;
  started_at: Date;
  ended_at: Date | null;
  checkpoint_before: Checkpoint;
  checkpoint_after: Checkpoint;
  error: string | null;
  evidence: Json | null;
} & Record<string, unknown>;

export function toRunRecord(row: RunRow): RunRecord {
  const counters = countersFromRow(row);
  return {
    runId: row.run_id,
    stream: row.stream,
    mode: row.mode,
    status: row.status,
    startedAt: iso(row.started_at),
    endedAt: iso(row.ended_at),
    checkpointBefore: row.checkpoint_before,
    checkpointAfter: row.checkpoint_after,
    error: row.error,
    counters,
    evidence: row.evidence ?? null,
  };
}

export interface RecordRow {
  _key: string;
  _data: Json;
  _hash: string;
  _version: string | null;
  _cursor: string | null;
  _first_synced_at: Date;
  _synced_at: Date;
  _deleted_at: Date | null;
  _run_id: string;
}

export function toStoredRecord(row: RecordRow): StoredRecord {
  return {
    key: row._key,
    data: row._data,
    hash: row._hash,
    version: row._version,
    cursor: row._cursor,
    firstSyncedAt: iso(row._first_synced_at),
    syncedAt: iso(row._synced_at),
    deletedAt: iso(row._deleted_at),
    runId: row._run_id,
  };
}

export interface ChangeLogRow {
  seq: string;
  stream: string;
  key: string;
  /** `run` for a finished run's row (`RunLogRow`). */
  kind: ChangeKind | 'run';
  hash: string;
  version: string | null;
  run_id: string;
  at: Date;
}

export function toChangeRow(row: ChangeLogRow): ChangeRow {
  return {
    seq: Number(row.seq),
    stream: row.stream,
    key: row.key,
    kind: row.kind as ChangeKind, // run rows are mapped by mergeRunRows, never here
    hash: row.hash,
    version: row.version,
    runId: row.run_id,
    at: iso(row.at),
  };
}
