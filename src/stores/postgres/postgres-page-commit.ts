import type { PoolClient } from 'pg';
import { FatalError, LeaseLostError } from '../../core/errors.ts';
import type { PageCommit } from '../../core/store.ts';
import type { RecordWrite } from '../../core/types.ts';
import { copyField, copyPayload } from './postgres-copy.ts';
import { recordPageHistory } from './postgres-history.ts';
import { COUNTER_COLUMNS, counterIncrements, counterValues, jsonParam } from './postgres-rows.ts';
import { recordSeenKeys } from './postgres-scan.ts';

/**
 * Inserts of at least this many rows go through COPY; below it one multi-row `INSERT ... SELECT` is
 * as fast (COPY costs an extra protocol exchange; both are bound by the server past that).
 */
export const COPY_THRESHOLD = 64;

/** Columns of a stream table, in the order COPY and the inserts write them (both stores). */
export const RECORD_COLUMNS = [
  '_key',
  '_data',
  '_hash',
  '_version',
  '_cursor',
  '_first_synced_at',
  '_synced_at',
  '_deleted_at',
  '_run_id',
] as const;

/**
 * A page's commit with its bulk payloads built: the COPY text of the inserts and of the change log,
 * the parameters of the updates. Built when the commit is handed over (`preparePageCommit`), so the
 * connection goes from one commit to the next without waiting for JavaScript.
 */
export interface PreparedPageCommit {
  readonly commit: PageCommit;
  /** COPY text of the rows known absent, or null when there are too few for COPY. */
  readonly insertCopy: string | null;
  /** The rows known absent when there are too few for COPY (one multi-row INSERT). */
  readonly insertRows: readonly RecordWrite[];
  readonly updates: readonly RecordWrite[];
  readonly tombstoned: readonly string[];
  /** COPY text of the change log, one row per write in write order; '' when there are none. */
  readonly changesCopy: string;
}

export function preparePageCommit(commit: PageCommit): PreparedPageCommit {
  const inserts: RecordWrite[] = [];
  const updates: RecordWrite[] = [];
  const tombstoned: string[] = [];
  for (const w of commit.writes) {
    if (w.keepData) tombstoned.push(w.key);
    else (w.existed ? updates : inserts).push(w);
  }
  const big = inserts.length >= COPY_THRESHOLD;
  return {
    commit,
    insertCopy: big ? insertsCopyText(commit, inserts) : null,
    insertRows: big ? [] : inserts,
    updates,
    tombstoned,
    changesCopy: changesCopyText(commit),
  };
}

/**
 * Commits one page in ONE transaction on `client`, in this order:
 *
 * 1. the fence: `syncline_state` is updated (the slot's checkpoint, newest cursor) only where holder and epoch
 *    still match. The UPDATE takes the row lock, and under READ COMMITTED re-checks the condition
 *    against a concurrent take-over, so it is `SELECT ... FOR UPDATE` plus the write in one round
 *    trip. The run's counters and the dead letters ride along in the same statement, gated on it;
 *    when nothing matched, the transaction is rolled back and `LeaseLostError` thrown;
 * 2. rows known absent: COPY (large pages) or one multi-row `INSERT` (small); a key that exists
 *    after all fails on the primary key, and with it the whole page;
 * 3. rows known present: one `UPDATE ... FROM` the same rows, and one more for tombstones (which keep
 *    the row's data); a row missing after all aborts the page;
 *    then, for a stream with `history`, the written keys' history rows; for a scan, its seen keys;
 * 4. the change log, in write order, by COPY under an advisory lock held to COMMIT: `seq` is drawn
 *    from an identity, and without the lock a transaction could commit a lower `seq` after a reader
 *    has passed a higher one, so a sink tailing `seq > offset` would miss it for good. The lock is
 *    taken last (nothing else waits on it), so it serializes only the tails of commits.
 */
export async function commitPageTx(
  client: PoolClient,
  schema: string,
  prepared: PreparedPageCommit,
  history = false,
): Promise<void> {
  const { commit } = prepared;
  const table = `"${commit.stream}"`;
  await client.query('BEGIN');
  try {
    if (!(await fence(client, commit))) {
      throw new LeaseLostError(commit.stream, commit.lease.epoch);
    }
    if (prepared.insertCopy !== null) {
      await copyPayload(
        client,
        `COPY ${table} (${RECORD_COLUMNS.join(', ')}) FROM STDIN`,
        prepared.insertCopy,
      );
    } else if (prepared.insertRows.length > 0) {
      await insertRows(client, table, commit, prepared.insertRows);
    }
    if (prepared.updates.length > 0) await updateRows(client, table, commit, prepared.updates);
    if (prepared.tombstoned.length > 0) await deleteKeepingData(client, table, commit, prepared.tombstoned);
    if (history && commit.writes.length > 0) await recordPageHistory(client, commit);
    if (commit.scan) await recordSeenKeys(client, commit.stream, commit.scan.id, commit.scan.seenKeys);
    if (prepared.changesCopy !== '') {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `syncline:changes:${schema}`,
      ]);
      await copyPayload(client, `COPY syncline_changes (${CHANGE_COLUMNS}) FROM STDIN`, prepared.changesCopy);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function fence(client: PoolClient, commit: PageCommit): Promise<boolean> {
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
  let deadLetters = '';
  if (commit.deadLetters.length > 0) {
    const first = counterParam + COUNTER_COLUMNS.length;
    values.push(
      commit.deadLetters.map((d) => d.key),
      commit.deadLetters.map((d) => d.reason),
      commit.deadLetters.map((d) => d.payload),
    );
    deadLetters = `, d AS (
      INSERT INTO syncline_failed (stream, run_id, key, reason, payload, created_at)
      SELECT $1, $7, u.key, u.reason, u.payload, $6::timestamptz
      FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::text[])
        WITH ORDINALITY AS u(key, reason, payload, ord)
      WHERE EXISTS (SELECT 1 FROM s)
      ORDER BY u.ord
    )`;
  }
  const { rows } = await client.query<{ fenced: number }>(
    `WITH s AS (
      UPDATE syncline_state
      SET ${commit.slot === 'backfill' ? 'backfill_checkpoint' : 'checkpoint'} = $4::jsonb, newest_cursor = COALESCE($5::text, newest_cursor), updated_at = $6::timestamptz
      WHERE stream = $1 AND lease_holder = $2 AND lease_epoch = $3::bigint
      RETURNING stream
    ), r AS (
      UPDATE syncline_runs SET ${counterIncrements(counterParam)}
      WHERE run_id = $7 AND EXISTS (SELECT 1 FROM s)
    )${deadLetters}
    SELECT count(*)::int AS fenced FROM s`,
    values,
  );
  return (rows[0]?.fenced ?? 0) > 0;
}

const CHANGE_COLUMNS = 'stream, key, kind, hash, version, run_id, at';

/** The rows known absent in COPY text format, in `RECORD_COLUMNS` order. */
function insertsCopyText(commit: PageCommit, inserts: readonly RecordWrite[]): string {
  const at = copyField(commit.at);
  const runId = copyField(commit.runId);
  let out = '';
  for (const w of inserts) {
    out += `${copyField(w.key)}\t${copyField(w.data)}\t${copyField(w.hash)}\t${copyField(w.version)}\t${copyField(w.cursor)}\t${at}\t${at}\t${w.deleted ? at : '\\N'}\t${runId}\n`;
  }
  return out;
}

/** The change log of the page in COPY text format, one row per write in write order. */
function changesCopyText(commit: PageCommit): string {
  const tail = `\t${copyField(commit.runId)}\t${copyField(commit.at)}\n`;
  const stream = copyField(commit.stream);
  let out = '';
  for (const w of commit.writes) {
    out += `${stream}\t${copyField(w.key)}\t${w.kind}\t${copyField(w.hash)}\t${copyField(w.version)}${tail}`;
  }
  return out;
}

/**
 * The parameters `WRITE_ROWS` zips back into rows: arrays of key, hash, version, cursor and deleted,
 * and the data as ONE JSON array text. The data is already JSON text, so joining it costs nothing,
 * while a `text[]` parameter would make pg quote and backslash-escape every record (the single
 * largest client cost of a page) and the server parse it back. Never JSON.stringify the data: that
 * would store a JSON string instead of the object (double encoding).
 */
function paramsOf(writes: readonly RecordWrite[]): unknown[] {
  const n = writes.length;
  const keys = new Array<string>(n);
  const data = new Array<string>(n);
  const hashes = new Array<string>(n);
  const versions = new Array<string | null>(n);
  const cursors = new Array<string | null>(n);
  const deleted = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const w = writes[i]!;
    keys[i] = w.key;
    data[i] = w.data;
    hashes[i] = w.hash;
    versions[i] = w.version;
    cursors[i] = w.cursor;
    deleted[i] = w.deleted;
  }
  return [keys, `[${data.join(',')}]`, hashes, versions, cursors, deleted];
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

function misaligned(commit: PageCommit, what: string): FatalError {
  return new FatalError(
    `stream "${commit.stream}": ${what}; nothing of the page was written; ` +
      'this is a bug in classification, record encoding, or a second writer',
    { stream: commit.stream },
  );
}

async function insertRows(
  client: PoolClient,
  table: string,
  commit: PageCommit,
  inserts: readonly RecordWrite[],
): Promise<void> {
  const result = await client.query(
    `INSERT INTO ${table} (${RECORD_COLUMNS.join(', ')})
    SELECT u.key, u.data, u.hash, u.version, u.cursor, $7::timestamptz, $7::timestamptz,
      CASE WHEN u.deleted THEN $7::timestamptz END, $8
    FROM ${WRITE_ROWS}
    WHERE ${ALIGNED}`,
    [...paramsOf(inserts), commit.at, commit.runId],
  );
  if (result.rowCount !== inserts.length) {
    throw misaligned(commit, "the data of the page's records is not one JSON value per record");
  }
}

async function updateRows(
  client: PoolClient,
  table: string,
  commit: PageCommit,
  updates: readonly RecordWrite[],
): Promise<void> {
  // `_first_synced_at` is left as it was: it records when the key first arrived.
  const result = await client.query(
    `UPDATE ${table} AS t
    SET _data = u.data, _hash = u.hash, _version = u.version, _cursor = u.cursor,
      _synced_at = $7::timestamptz, _deleted_at = CASE WHEN u.deleted THEN $7::timestamptz END, _run_id = $8
    FROM ${WRITE_ROWS}
    WHERE t._key = u.key AND ${ALIGNED}`,
    [...paramsOf(updates), commit.at, commit.runId],
  );
  const expected = new Set(updates.map((w) => w.key)).size;
  if ((result.rowCount ?? 0) !== expected) {
    throw misaligned(
      commit,
      `${expected - (result.rowCount ?? 0)} of ${expected} record(s) sent as present were not updated: ` +
        'missing from the table, or their data is not one JSON value each',
    );
  }
}

/** Soft-deletes the rows of tombstoned keys, keeping their data, hash, version and cursor. */
async function deleteKeepingData(
  client: PoolClient,
  table: string,
  commit: PageCommit,
  keys: readonly string[],
): Promise<void> {
  const result = await client.query(
    `UPDATE ${table} AS t SET _deleted_at = $2::timestamptz, _synced_at = $2::timestamptz, _run_id = $3
    FROM unnest($1::text[]) AS k(key) WHERE t._key = k.key`,
    [keys, commit.at, commit.runId],
  );
  if ((result.rowCount ?? 0) !== keys.length) {
    throw misaligned(
      commit,
      `${keys.length - (result.rowCount ?? 0)} of ${keys.length} tombstoned record(s) were not in the table`,
    );
  }
}
