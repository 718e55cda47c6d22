// @ts-check
/**
 * Applies a PostgreSQL write program (`PgWriteProgram` in `postgres-page-commit.ts`) on one
 * connection, in one transaction: it builds the COPY text of a page's rows and change log from the
 * writes, sends it, and checks what each statement touched. The writer thread
 * (`postgres-writer-worker.mjs`) runs it on its own connection; the store runs it on a pooled one
 * while that thread is still starting (`WriterThread`'s `inline`).
 *
 * Plain JavaScript: a worker gets none of the main thread's TypeScript loader. A failure is
 * `{ step, code, message, rowCount }`.
 */
import { CopyBuffer, copyField, copyPayload } from './postgres-copy.mjs';

/** @typedef {import('../write-columns.mjs').WriteColumns} WriteColumns */
/**
 * @typedef {{ sql?: string, params?: unknown[], expect?: 'fenced' | number, copy?: string,
 *   layout?: 'insert' | 'changes', indexes?: readonly number[], when?: { sql: string, params: unknown[] } }} Step
 */
/** @typedef {{ stream: string, runId: string, at: string, writes: WriteColumns, steps: readonly Step[] }} Program */
/** @typedef {{ step: number, code: string | null, message: string, rowCount: number | null }} Failure */
/** @typedef {import('pg').ClientBase} Client */

/** @type {WeakMap<Client, CopyBuffer>} */
const copyBuffers = new WeakMap();

/**
 * The connection's COPY buffer, kept while the connection lives.
 * @param {Client} c
 */
function copyBufferOf(c) {
  let buffer = copyBuffers.get(c);
  if (buffer === undefined) {
    buffer = new CopyBuffer();
    copyBuffers.set(c, buffer);
  }
  return buffer;
}

/**
 * Runs the program's steps in one transaction on `c`. `failure` is null when it committed;
 * `broken` says the connection could not even roll back and must not be used again.
 * @param {Client} c
 * @param {Program} program
 * @returns {Promise<{ failure: Failure | null, broken: boolean }>}
 */
export async function applyPgProgram(c, program) {
  let step = -1;
  try {
    await c.query('BEGIN');
    for (step = 0; step < program.steps.length; step++) {
      const s = /** @type {Step} */ (program.steps[step]);
      if (s.when && (await c.query(s.when.sql, s.when.params)).rows[0]?.present !== true) continue;
      if (s.copy !== undefined) {
        // The connection's own buffer: a connection runs one program at a time, and the COPY has
        // been read by the server before the next one writes into it.
        await copyPayload(c, s.copy, stepCopyPayload(copyBufferOf(c), program, s));
        continue;
      }
      const result = await c.query(/** @type {string} */ (s.sql), s.params);
      const rowCount =
        s.expect === 'fenced'
          ? (result.rows[0]?.fenced ?? 0)
          : s.expect === undefined
            ? null
            : (result.rowCount ?? 0);
      if (s.expect === 'fenced' ? rowCount === 0 : rowCount !== null && rowCount !== s.expect) {
        await c.query('ROLLBACK');
        const message = 'the statement touched another number of rows';
        return { failure: { step, code: null, message, rowCount }, broken: false };
      }
    }
    step = -1;
    await c.query('COMMIT');
    return { failure: null, broken: false };
  } catch (error) {
    // A failed statement leaves the transaction aborted; a connection that cannot roll back is broken.
    const broken = await c.query('ROLLBACK').then(
      () => false,
      () => true,
    );
    return { failure: pgFailure(step, error), broken };
  }
}

/**
 * A failure at `step` (-1: before the first or at the commit) from what pg threw.
 * @param {number} step
 * @param {unknown} error
 * @returns {Failure}
 */
export function pgFailure(step, error) {
  const code = /** @type {{ code?: unknown }} */ (error).code;
  return {
    step,
    code: typeof code === 'string' ? code : null,
    message: error instanceof Error ? error.message : String(error),
    rowCount: null,
  };
}

/**
 * The COPY payload of a step given as writes, by its layout, written into `buffer`.
 * @param {CopyBuffer} buffer
 * @param {Program} program
 * @param {Step} step
 */
function stepCopyPayload(buffer, { stream, runId, at, writes }, { layout, indexes = [] }) {
  buffer.reset();
  const { key, kind, data, hash, version, cursor, deleted } = writes;
  const atField = copyField(at);
  const runField = copyField(runId);
  if (layout === 'insert') {
    // RECORD_COLUMNS: _key, _data, _hash, _version, _cursor, _first_synced_at, _synced_at, _deleted_at, _run_id
    // The record's JSON goes in as it is (copied once, into the buffer); the short fields around
    // it make one string each.
    const times = `\t${atField}\t${atField}\t`;
    for (const i of indexes) {
      buffer.raw(`${copyField(/** @type {string} */ (key[i]))}\t`);
      buffer.field(/** @type {string} */ (data[i]));
      buffer.raw(
        `\t${copyField(/** @type {string} */ (hash[i]))}\t${copyField(version[i] ?? null)}\t${copyField(cursor[i] ?? null)}${times}${deleted[i] ? atField : '\\N'}\t${runField}\n`,
      );
    }
    return buffer.payload();
  }
  // The change log: stream, key, kind, hash, version, run_id, at; in write order.
  const head = copyField(stream);
  const tail = `\t${runField}\t${atField}\n`;
  for (const i of indexes) {
    buffer.raw(
      `${head}\t${copyField(/** @type {string} */ (key[i]))}\t${kind[i]}\t${copyField(/** @type {string} */ (hash[i]))}\t${copyField(version[i] ?? null)}${tail}`,
    );
  }
  return buffer.payload();
}
