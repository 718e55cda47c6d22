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

/** `pages = pages + ?, fetched = fetched + ?, ...`: adds one parameter per counter, in order. */
export const ADD_COUNTERS_SQL = COUNTER_COLUMNS.map((c) => `${c} = ${c} + ?`).join(', ');

/** A checkpoint as stored: JSON text, with `null` as SQL NULL so users read "no checkpoint" plainly. */
export function checkpointText(checkpoint: Checkpoint): string | null {
  return checkpoint === null ? null : JSON.stringify(checkpoint);
}

/** A JSON column (checkpoint, evidence) as read back: SQL NULL is JSON null. */
export function parseCheckpoint(text: string | null): Checkpoint {
  return text === null ? null : (JSON.parse(text) as Json);
}

export interface StateRow {
  stream: string;
  checkpoint: string | null;
  newest_cursor: string | null;
  lease_holder: string | null;
  lease_epoch: number;
  lease_expires_at: string | null;
  updated_at: string;
  backfill_checkpoint: string | null;
  /** 0 or 1. */
  approved: number;
}

export function toStreamState(row: StateRow): StreamState {
  return {
    stream: row.stream,
    checkpoint: parseCheckpoint(row.checkpoint),
    newestCursor: row.newest_cursor,
    leaseHolder: row.lease_holder,
    leaseEpoch: row.lease_epoch,
    leaseExpiresAt: row.lease_expires_at,
    updatedAt: row.updated_at,
    backfillCheckpoint: parseCheckpoint(row.backfill_checkpoint),
    approved: row.approved === 1,
  };
}

/** A `syncline_runs` row: the fixed columns plus one number per counter column. */
export interface RunRow {
  run_id: string;
  stream: string;
  mode: string;
  status: string;
  started_at: string;
  ended_at: string | null;
  checkpoint_before: string | null;
  checkpoint_after: string | null;
  error: string | null;
  /** JSON text or NULL. */
  evidence: string | null;
  [counter: string]: string | number | null;
}

export function toRunRecord(row: RunRow): RunRecord {
  const counters = countersFromRow(row);
  return {
    runId: row.run_id,
    stream: row.stream,
    mode: row.mode as RunMode,
    status: row.status as RunStatus,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    checkpointBefore: parseCheckpoint(row.checkpoint_before),
    checkpointAfter: parseCheckpoint(row.checkpoint_after),
    error: row.error,
    counters,
    evidence: parseCheckpoint(row.evidence),
  };
}

export interface RecordRow {
  _key: string;
  _data: string;
  _hash: string;
  _version: string | null;
  _cursor: string | null;
  _first_synced_at: string;
  _synced_at: string;
  _deleted_at: string | null;
  _run_id: string;
}

export function toStoredRecord(row: RecordRow): StoredRecord {
  return {
    key: row._key,
    data: JSON.parse(row._data) as Json,
    hash: row._hash,
    version: row._version,
    cursor: row._cursor,
    firstSyncedAt: row._first_synced_at,
    syncedAt: row._synced_at,
    deletedAt: row._deleted_at,
    runId: row._run_id,
  };
}

export interface ChangeLogRow {
  seq: number;
  stream: string;
  key: string;
  kind: string;
  hash: string;
  version: string | null;
  run_id: string;
  at: string;
}

export function toChangeRow(row: ChangeLogRow): ChangeRow {
  return {
    seq: row.seq,
    stream: row.stream,
    key: row.key,
    kind: row.kind as ChangeKind,
    hash: row.hash,
    version: row.version,
    runId: row.run_id,
    at: row.at,
  };
}
