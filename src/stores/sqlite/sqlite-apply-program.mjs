// @ts-check
/**
 * Applies a SQLite write program (`sqlite-write-program.ts`) on a connection: one
 * `BEGIN IMMEDIATE` transaction of prepared statements run with the parameters the main thread
 * computed. The writer thread (`sqlite-writer-worker.mjs`) runs it on its connection; the store
 * runs it on its own connection while that thread is still starting (`WriterThread`'s `inline`).
 *
 * Plain JavaScript: a worker gets none of the main thread's TypeScript loader. A failure is
 * `{ step, row, key, code, message, noChange }` (see `WriteFailure`).
 */
import Database from 'better-sqlite3';

/** @typedef {import('../write-columns.mjs').WriteColumns} WriteColumns */

/** Change-log rows a statement inserts (`CHANGES_SQL` in `sqlite-write-program.ts`). */
export const CHANGES_PER_STATEMENT = 100;
/** @typedef {string | number | null} SqlValue */
/**
 * @typedef {{ sql: string, mustChange: boolean, rows?: SqlValue[][], layout?: string,
 *   indexes?: readonly number[] }} Step
 */
/** @typedef {{ stream: string, runId: string, at: string, writes: WriteColumns, steps: Step[] }} Program */
/**
 * @typedef {{ step: number, row: number, key: string | null, code: string | null, message: string,
 *   noChange: boolean }} Failure
 */

/**
 * The program applier of one connection (it keeps that connection's prepared statements).
 * @param {() => Database.Database} connection the connection, or a throw saying why there is none
 * @returns {(program: Program) => Failure | null} null when the program committed
 */
export function programApplier(connection) {
  /** @type {Map<string, Database.Statement>} */
  const statements = new Map();
  /** @type {Database.Database | null} */
  let preparedOn = null;

  /** @param {Database.Database} db @param {string} sql */
  function prepared(db, sql) {
    if (preparedOn !== db) {
      statements.clear();
      preparedOn = db;
    }
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  }

  return (program) => {
    /** @type {Database.Database} */
    let db;
    try {
      db = connection();
    } catch (error) {
      return failure(-1, -1, error, false);
    }
    let step = -1;
    let row = -1;
    try {
      db.exec('BEGIN IMMEDIATE');
      for (step = 0; step < program.steps.length; step++) {
        const current = /** @type {Step} */ (program.steps[step]);
        const statement = prepared(db, current.sql);
        const rows = current.rows ?? bind(program, current);
        for (row = 0; row < rows.length; row++) {
          const changes = statement.run(.../** @type {SqlValue[]} */ (rows[row])).changes;
          if (current.mustChange && changes === 0) {
            rollback(db);
            return failure(step, row, null, true, keyOf(program, current, row));
          }
        }
        row = -1;
      }
      db.exec('COMMIT');
      return null;
    } catch (error) {
      rollback(db);
      const current = program.steps[step];
      return failure(step, row, error, false, current ? keyOf(program, current, row) : null);
    }
  };
}

/**
 * The key of a step's row, when its rows are writes (one each).
 * @param {Program} program
 * @param {Step} step
 * @param {number} row
 */
function keyOf({ writes }, step, row) {
  if (step.layout === undefined || step.layout === 'changes') return null;
  const index = step.indexes?.[row];
  return index === undefined ? null : (writes.key[index] ?? null);
}

/**
 * The parameters of a step given as writes, by its layout (`WriteLayout` in
 * `sqlite-write-program.ts`), one row per write (`changes`: one row for all).
 * @param {Program} program
 * @param {Step} step
 * @returns {SqlValue[][]}
 */
function bind(program, step) {
  // Every index names a write: the columns hold a value at each (undefined is never bound).
  return /** @type {SqlValue[][]} */ (bindUnchecked(program, step));
}

/**
 * @param {Program} program
 * @param {Step} step
 */
function bindUnchecked({ stream, runId, at, writes }, { layout, indexes = [] }) {
  const { key, kind, data, hash, version, cursor, deleted } = writes;
  switch (layout) {
    case 'insert':
      return indexes.map((i) => [
        key[i],
        data[i],
        hash[i],
        version[i],
        cursor[i],
        at,
        at,
        deleted[i] ? at : null,
        runId,
      ]);
    case 'update':
      return indexes.map((i) => [
        data[i],
        hash[i],
        version[i],
        cursor[i],
        at,
        deleted[i] ? at : null,
        runId,
        key[i],
      ]);
    case 'tombstone':
      return indexes.map((i) => [at, at, runId, key[i]]);
    case 'history-close':
      return indexes.map((i) => [at, key[i]]);
    case 'history-open':
      return indexes.map((i) => [at, runId, key[i]]);
    case 'changes': {
      // CHANGES_PER_STATEMENT writes a row of parameters: key, kind, hash, version and place, after
      // stream, run and time; the last row's unused places stay NULL (the statement skips them).
      /** @type {SqlValue[][]} */
      const rows = [];
      for (let first = 0; first < indexes.length; first += CHANGES_PER_STATEMENT) {
        const row = new Array(3 + 5 * CHANGES_PER_STATEMENT).fill(null);
        row[0] = stream;
        row[1] = runId;
        row[2] = at;
        const count = Math.min(CHANGES_PER_STATEMENT, indexes.length - first);
        for (let place = 0; place < count; place++) {
          const i = /** @type {number} */ (indexes[first + place]);
          const at5 = 3 + 5 * place;
          row[at5] = key[i];
          row[at5 + 1] = kind[i];
          row[at5 + 2] = hash[i];
          row[at5 + 3] = version[i];
          row[at5 + 4] = place;
        }
        rows.push(row);
      }
      return rows;
    }
    default:
      throw new Error(`unknown write layout ${layout}`);
  }
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
