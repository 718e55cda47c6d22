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
            return failure(step, row, null, true, keyOf(current, row));
          }
        }
        row = -1;
      }
      db.exec('COMMIT');
      return null;
    } catch (error) {
      rollback(db);
      const current = program.steps[step];
      return failure(step, row, error, false, current ? keyOf(current, row) : null);
    }
  };
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
