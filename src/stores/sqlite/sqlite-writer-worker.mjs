// @ts-check
/**
 * The SQLite store's writer thread. It owns a second connection to the store's file and applies
 * write programs (`sqlite-write-program.ts`): prepared statements run with the parameters the main
 * thread computed, all or nothing per program, in `BEGIN IMMEDIATE` transactions that take every
 * program queued at the time (a group commit). So the B-tree and WAL work of a commit runs on its
 * own core while the main thread fetches, parses and classifies the next pages.
 *
 * Plain JavaScript on purpose: a worker gets none of the TypeScript loader of the main thread, and
 * everything it needs to know (SQL text, parameters, which step must change rows) comes in the
 * message. Ordering and refusals: `writer-thread-loop.mjs`. A failure is
 * `{ step, row, key, code, message, noChange }` (see `WriteFailure`).
 */
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { serveWriter } from '../writer-thread-loop.mjs';

/** @typedef {string | number | null} SqlValue */
/**
 * @typedef {{ key: string, kind: string, data: string, hash: string, version: string | null,
 *   cursor: string | null, deleted: boolean }} Write
 */
/**
 * @typedef {{ sql: string, mustChange: boolean, rows?: SqlValue[][], layout?: string,
 *   items?: Write[] }} Step
 */
/** @typedef {{ stream: string, runId: string, at: string, steps: Step[] }} Program */
/**
 * @typedef {{ step: number, row: number, key: string | null, code: string | null, message: string,
 *   noChange: boolean }} Failure
 */

/** @type {{ path: string, busyTimeoutMs: number, cacheSizeKiB: number, walAutocheckpoint: number }} */
const options = workerData;
/** @type {Database.Database | null} */
let db = null;
/** Why the connection could not be opened; every program fails with it. */
let openError = /** @type {Failure | null} */ (null);
try {
  db = new Database(options.path, { timeout: options.busyTimeoutMs, fileMustExist: true });
  db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  db.pragma('synchronous = NORMAL');
  db.pragma(`wal_autocheckpoint = ${options.walAutocheckpoint}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = ${-options.cacheSizeKiB}`);
} catch (error) {
  openError = failure(-1, -1, error, false);
}

/** @type {Map<string, Database.Statement>} */
const statements = new Map();

/**
 * Programs applied together: their records go into the same B-tree pages, and the pages a commit
 * dirties (random keys touch leaf pages all over the `_key` index) are written to the WAL once per
 * group rather than once per program. 1M records in 4,000-row transactions wrote 4.1 GB; in
 * 12,000-row ones, 2.8 GB and ran ~1.2x faster (measured, without the engine).
 */
const GROUP_MAX_ROWS = 12_000;

serveWriter({ applyGroup, weight, maxWeight: GROUP_MAX_ROWS }, () => {
  db?.close();
  db = null;
});

/**
 * A program's size in rows: its largest step (the writes, when it has any).
 * @param {Program} program
 */
function weight(program) {
  let rows = 0;
  for (const step of program.steps) rows = Math.max(rows, step.rows?.length ?? step.items?.length ?? 0);
  return rows;
}

/**
 * Runs the programs in one transaction, each all or nothing: when one fails, the transaction is
 * rolled back and the programs before it are applied again, alone, and committed.
 * @param {Program[]} programs
 * @returns {{ index: number, failure: Failure } | null}
 */
function applyGroup(programs) {
  if (openError || !db)
    return {
      index: 0,
      failure: openError ?? failure(-1, -1, new Error('the writer connection is closed'), false),
    };
  const result = applyInTransaction(db, programs);
  if (result === null || result.index === 0) return result;
  // Nothing of the group was committed: those before the failed one are applied again.
  const before = applyInTransaction(db, programs.slice(0, result.index));
  return before ?? result;
}

/**
 * @param {Database.Database} connection
 * @param {Program[]} programs
 * @returns {{ index: number, failure: Failure } | null}
 */
function applyInTransaction(connection, programs) {
  try {
    connection.exec('BEGIN IMMEDIATE');
  } catch (error) {
    return { index: 0, failure: failure(-1, -1, error, false) };
  }
  for (let index = 0; index < programs.length; index++) {
    const failed = applySteps(connection, /** @type {Program} */ (programs[index]));
    if (failed) {
      rollback(connection);
      return { index, failure: failed };
    }
  }
  try {
    connection.exec('COMMIT');
    return null;
  } catch (error) {
    rollback(connection);
    return { index: 0, failure: failure(-1, -1, error, false) };
  }
}

/**
 * Runs a program's steps inside the open transaction; null when all ran.
 * @param {Database.Database} connection
 * @param {Program} program
 * @returns {Failure | null}
 */
function applySteps(connection, program) {
  let step = -1;
  let row = -1;
  try {
    for (step = 0; step < program.steps.length; step++) {
      const current = /** @type {Step} */ (program.steps[step]);
      const statement = prepared(connection, current.sql);
      const rows = current.rows ?? bind(program, current);
      for (row = 0; row < rows.length; row++) {
        const changes = statement.run(.../** @type {SqlValue[]} */ (rows[row])).changes;
        if (current.mustChange && changes === 0) return failure(step, row, null, true, keyOf(current, row));
      }
      row = -1;
    }
    return null;
  } catch (error) {
    const current = program.steps[step];
    return failure(step, row, error, false, current ? keyOf(current, row) : null);
  }
}

/**
 * The key of a step's row, when its rows are writes (one each).
 * @param {Step} step
 * @param {number} row
 */
function keyOf(step, row) {
  return step.layout !== undefined && step.layout !== 'changes' ? (step.items?.[row]?.key ?? null) : null;
}

/**
 * The parameters of a step given as writes, by its layout (`WriteLayout` in
 * `sqlite-write-program.ts`), one row per write (`changes`: one row for all).
 * @param {Program} program
 * @param {Step} step
 * @returns {SqlValue[][]}
 */
function bind({ stream, runId, at }, { layout, items = [] }) {
  switch (layout) {
    case 'insert':
      return items.map((w) => [
        w.key,
        w.data,
        w.hash,
        w.version,
        w.cursor,
        at,
        at,
        w.deleted ? at : null,
        runId,
      ]);
    case 'update':
      return items.map((w) => [w.data, w.hash, w.version, w.cursor, at, w.deleted ? at : null, runId, w.key]);
    case 'tombstone':
      return items.map((w) => [at, at, runId, w.key]);
    case 'history-close':
      return items.map((w) => [at, w.key]);
    case 'history-open':
      return items.map((w) => [at, runId, w.key]);
    case 'changes':
      return [[stream, runId, at, JSON.stringify(items.map((w) => [w.key, w.kind, w.hash, w.version]))]];
    default:
      throw new Error(`unknown write layout ${layout}`);
  }
}

/**
 * @param {Database.Database} connection
 * @param {string} sql
 */
function prepared(connection, sql) {
  let statement = statements.get(sql);
  if (!statement) {
    statement = connection.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

/** @param {Database.Database} connection */
function rollback(connection) {
  if (connection.inTransaction) connection.exec('ROLLBACK');
}

/**
 * @param {number} step
 * @param {number} row
 * @param {unknown} error
 * @param {boolean} noChange
 * @param {string | null} [key]
 * @returns {Failure}
 */
function failure(step, row, error, noChange, key = null) {
  const code = error instanceof Database.SqliteError ? error.code : null;
  const message = error instanceof Error ? error.message : error === null ? '' : String(error);
  return { step, row, key, code, message, noChange };
}
