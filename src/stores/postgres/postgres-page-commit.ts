import { FatalError, LeaseLostError, type SyncError } from '../../core/errors.ts';
import type { PageCommit } from '../../core/store.ts';
import type { RecordWrite } from '../../core/types.ts';
import { RECORD_COLUMNS } from '../record-columns.ts';
import { counterValues } from '../run-counters.ts';
import { allWrites, type WriteColumns, writeColumns } from '../write-columns.mjs';
import type { WriterFailure } from '../writer-thread.ts';
import { COMMIT_CHANNEL } from './postgres-commit-watch.ts';
import { deadLetterStatements } from './postgres-dead-letters.ts';
import { storeError } from './postgres-errors.ts';
import { historyTableQuery, pageHistoryStatement } from './postgres-history.ts';
import { counterIncrements, jsonParam } from './postgres-rows.ts';
import { seenKeysStatement } from './postgres-scans.ts';

/**
 * Inserts of at least this many rows go through COPY; below it one multi-row `INSERT ... SELECT` is
 * as fast (COPY costs an extra protocol exchange; both are bound by the server past that).
 */
export const COPY_THRESHOLD = 64;

/**
 * A commit as the PostgreSQL writer thread (`postgres-writer-worker.mjs`) applies it, in one
 * transaction on its own connection: statements with their parameters, and COPYs whose text the
 * thread builds from the writes by layout (`insert`: `RECORD_COLUMNS`; `changes`: the change log),
 * so the main thread never formats or sends the bulk of a page.
 */
export interface PgWriteProgram {
  readonly stream: string;
  readonly runId: string;
  readonly at: string;
  /** The commit's writes, which the COPY steps name by index (`write-columns.mjs`). */
  readonly writes: WriteColumns;
  readonly steps: PgWriteStep[];
}

export type PgWriteStep =
  | {
      readonly role: PgStepRole;
      readonly sql: string;
      readonly params: unknown[];
      /** `fenced`: the first row's `fenced` must be > 0; a number: the statement must touch that many rows. */
      readonly expect?: 'fenced' | number;
      /** Run the step only if this query's first row says `present` (whether a history table exists). */
      readonly when?: { readonly sql: string; readonly params: unknown[] };
    }
  | {
      readonly role: PgStepRole;
      /** `COPY ... FROM STDIN`. */
      readonly copy: string;
      readonly layout: 'insert' | 'changes';
      /** The writes it copies, as indexes into the program's `writes`. */
      readonly indexes: readonly number[];
    };

type PgStepRole =
  | 'fence'
  | 'letters'
  | 'insert'
  | 'update'
  | 'tombstone'
  | 'history'
  | 'scan'
  | 'notify'
  | 'changes';

/** How a program failed on the writer thread. */
export interface PgWriteFailure extends WriterFailure {
  /** The step that failed; -1 before any (connecting, BEGIN) or at COMMIT. */
  readonly step: number;
  /** SQLSTATE or socket code. */
  readonly code: string | null;
  /** When a step touched another number of rows than it had to: how many it did. */
  readonly rowCount: number | null;
}

/**
 * One page's commit (`Store.commitPage`), in this order:
 *
 * 1. the fence: `syncline_state` is updated (the slot's checkpoint, newest cursor) only where holder and epoch
 *    still match. The UPDATE takes the row lock, and under READ COMMITTED re-checks the condition
 *    against a concurrent take-over, so it is `SELECT ... FOR UPDATE` plus the write in one round
 *    trip. The run's counters ride along in the same statement, gated on it; when nothing
 *    matched, the transaction is rolled back and `LeaseLostError` thrown; then the dead letters
 *    and the letters the commit settles (`postgres-dead-letters.ts`);
 * 2. rows known absent: COPY (large pages) or one multi-row `INSERT` (small); a key that exists
 *    after all fails on the primary key, and with it the whole page;
 * 3. rows known present: one `UPDATE ... FROM` the same rows, and one more for tombstones (which keep
 *    the row's data); a row missing after all aborts the page;
 *    then, for a stream with `history`, the written keys' history rows; for a scan, its seen keys;
 * 4. the change log, in write order, by COPY. `seq` is drawn from an identity when a row is
 *    written, not when it commits, so a transaction can commit a lower `seq` after another
 *    committed a higher one. Commits used to append under an exclusive lock of the schema held to
 *    COMMIT, which kept seqs visible in order but made the commits of every stream of every worker
 *    queue on it, each one's WAL flush included (bench section `changelog`: 4 writer processes
 *    committed fewer pages than 1). Now the table's trigger (migration 012) takes that lock
 *    shared before the COPY draws a seq, held to COMMIT: appends never wait on each other, and
 *    readers pass a seq only once the appends in flight when it was drawn have ended
 *    (`settledSeq` in `postgres-change-feed.ts`), so a sink tailing `seq > offset` misses none.
 */
export function pageProgram(commit: PageCommit, schema: string, history: boolean | null): PgWriteProgram {
  const table = `"${commit.stream}"`;
  /** Indexes of the writes of new keys: the COPY names them so; a small page's INSERT takes them. */
  const inserts: number[] = [];
  const updates: RecordWrite[] = [];
  const tombstoned: string[] = [];
  commit.writes.forEach((w, i) => {
    if (w.keepData) tombstoned.push(w.key);
    else if (w.existed) updates.push(w);
    else inserts.push(i);
  });
  const { at, runId } = commit;
  const steps: PgWriteStep[] = [{ role: 'fence', ...fenceStatement(commit), expect: 'fenced' }];
  for (const statement of deadLetterStatements(commit)) steps.push({ role: 'letters', ...statement });
  if (inserts.length >= COPY_THRESHOLD) {
    steps.push({
      role: 'insert',
      copy: `COPY ${table} (${RECORD_COLUMNS.join(', ')}) FROM STDIN`,
      layout: 'insert',
      indexes: inserts,
    });
  } else if (inserts.length > 0) {
    steps.push({
      role: 'insert',
      sql: `INSERT INTO ${table} (${RECORD_COLUMNS.join(', ')})
    SELECT u.key, u.data, u.hash, u.version, u.cursor, $7::timestamptz, $7::timestamptz,
      CASE WHEN u.deleted THEN $7::timestamptz END, $8
    FROM ${WRITE_ROWS}
    WHERE ${ALIGNED}`,
      params: [...paramsOf(inserts.map((i) => commit.writes[i]!)), at, runId],
      expect: inserts.length,
    });
  }
  if (updates.length > 0) {
    // `_first_synced_at` is left as it was: it records when the key first arrived.
    steps.push({
      role: 'update',
      sql: `UPDATE ${table} AS t
    SET _data = u.data, _hash = u.hash, _version = u.version, _cursor = u.cursor,
      _synced_at = $7::timestamptz, _deleted_at = CASE WHEN u.deleted THEN $7::timestamptz END, _run_id = $8
    FROM ${WRITE_ROWS}
    WHERE t._key = u.key AND ${ALIGNED}`,
      params: [...paramsOf(updates), at, runId],
      expect: new Set(updates.map((w) => w.key)).size,
    });
  }
  if (tombstoned.length > 0) {
    // Soft-deletes the rows of tombstoned keys, keeping their data, hash, version and cursor.
    steps.push({
      role: 'tombstone',
      sql: `UPDATE ${table} AS t SET _deleted_at = $2::timestamptz, _synced_at = $2::timestamptz, _run_id = $3
    FROM unnest($1::text[]) AS k(key) WHERE t._key = k.key`,
      params: [tombstoned, at, runId],
      expect: tombstoned.length,
    });
  }
  // `history` null: this store instance has not ensured the stream, so the thread asks the catalog.
  if (history !== false && commit.writes.length > 0) {
    const when = history === null ? { when: historyTableQuery(commit.stream) } : {};
    steps.push({ role: 'history', ...pageHistoryStatement(commit), ...when });
  }
  if (commit.scan && commit.scan.seenKeys.length > 0) {
    steps.push({ role: 'scan', ...seenKeysStatement(commit.stream, commit.scan.id, commit.scan.seenKeys) });
  }
  if (commit.writes.length > 0) {
    steps.push(
      {
        role: 'notify',
        // The notification is delivered at COMMIT, to readers listening (postgres-commit-watch.ts).
        sql: `SELECT pg_notify('${COMMIT_CHANNEL}', $1)`,
        params: [schema],
      },
      {
        role: 'changes',
        copy: `COPY syncline_changes (${CHANGE_COLUMNS}) FROM STDIN`,
        layout: 'changes',
        indexes: allWrites(commit.writes.length),
      },
    );
  }
  return { stream: commit.stream, runId, at, writes: writeColumns(commit.writes), steps };
}

/** What naming a failed commit needs, kept instead of the commit while the thread applies it. */
export interface CommitFacts {
  readonly stream: string;
  readonly epoch: number;
  /** Per step: its role, and how many rows it had to touch. */
  readonly steps: readonly { readonly role: PgStepRole; readonly expect: number | null }[];
}

export function commitFacts(commit: PageCommit, program: PgWriteProgram): CommitFacts {
  return {
    stream: commit.stream,
    epoch: commit.lease.epoch,
    steps: program.steps.map((s) => ({
      role: s.role,
      expect: 'expect' in s && typeof s.expect === 'number' ? s.expect : null,
    })),
  };
}

/** The typed error a failed program becomes. */
export function writeError(facts: CommitFacts, failure: PgWriteFailure): SyncError {
  const { stream } = facts;
  if (failure.refused) {
    return new FatalError(`stream "${stream}": ${failure.message}`, { stream });
  }
  const step = facts.steps[failure.step];
  if (step?.role === 'fence' && failure.rowCount !== null) return new LeaseLostError(stream, facts.epoch);
  if (step && failure.rowCount !== null && step.expect !== null) {
    const expected = step.expect;
    const what =
      step.role === 'insert'
        ? "the data of the page's records is not one JSON value per record"
        : step.role === 'tombstone'
          ? `${expected - failure.rowCount} of ${expected} tombstoned record(s) were not in the table`
          : `${expected - failure.rowCount} of ${expected} record(s) sent as present were not updated: ` +
            'missing from the table, or their data is not one JSON value each';
    return new FatalError(
      `stream "${stream}": ${what}; nothing of the page was written; ` +
        'this is a bug in classification, record encoding, or a second writer',
      { stream },
    );
  }
  const cause = Object.assign(
    new Error(failure.message),
    failure.code === null ? {} : { code: failure.code },
  );
  return storeError(cause, 'committing a page', stream);
}

/**
 * The fence as one statement (see `pageProgram`): the state row, gated on holder and epoch, with the
 * run's counters riding along; `fenced` is 0 when the lease is no longer ours.
 */
function fenceStatement(commit: PageCommit): { sql: string; params: unknown[] } {
  const { stream, lease, runId, at } = commit;
  const values: unknown[] = [
    stream,
    lease.holder,
    lease.epoch,
    jsonParam(commit.checkpoint),
    commit.newestCursor,
    at,
    runId,
    ...counterValues(commit.counters),
  ];
  const counterParam = 8;
  return {
    sql: `WITH s AS (
      UPDATE syncline_state
      SET ${commit.slot === 'backfill' ? 'backfill_checkpoint' : 'checkpoint'} = $4::jsonb, newest_cursor = COALESCE($5::text, newest_cursor), updated_at = $6::timestamptz
      WHERE stream = $1 AND lease_holder = $2 AND lease_epoch = $3::bigint
      RETURNING stream
    ), r AS (
      UPDATE syncline_runs SET ${counterIncrements(counterParam)}
      WHERE run_id = $7 AND EXISTS (SELECT 1 FROM s)
    )
    SELECT count(*)::int AS fenced FROM s`,
    params: values,
  };
}

const CHANGE_COLUMNS = 'stream, key, kind, hash, version, run_id, at';

/**
 * The parameters `WRITE_ROWS` zips back into rows: arrays of key, hash, version, cursor and deleted,
 * and the data as ONE JSON array text. The data is already JSON text, so joining it costs nothing,
 * while a `text[]` parameter would make pg quote and backslash-escape every record (the single
 * largest client cost of a page) and the server parse it back. Never JSON.stringify the data: that
 * would store a JSON string instead of the object (double encoding).
 */
function paramsOf(writes: readonly RecordWrite[]): unknown[] {
  const { key, data, hash, version, cursor, deleted } = writeColumns(writes);
  return [key, `[${data.join(',')}]`, hash, version, cursor, deleted];
}

/**
 * `ROWS FROM` walks the arrays in lockstep: row i of each is write i. Data that is not exactly one
 * JSON value per record (`1,2`) would shift every later row onto the wrong key, so `ALIGNED` admits
 * the rows only when the counts agree (planned once: both sides are constants), and the callers
 * check how many rows were written.
 */
const WRITE_ROWS = `ROWS FROM (unnest($1::text[]), jsonb_array_elements($2::jsonb), unnest($3::text[]),
    unnest($4::text[]), unnest($5::text[]), unnest($6::boolean[])) AS u(key, data, hash, version, cursor, deleted)`;
const ALIGNED = 'jsonb_array_length($2::jsonb) = cardinality($1::text[])';
