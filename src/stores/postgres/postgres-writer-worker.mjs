// @ts-check
/**
 * The PostgreSQL store's writer thread. It owns one connection of its own and applies write
 * programs (`PgWriteProgram` in `postgres-page-commit.ts`), one transaction each: it builds the COPY
 * text of a page's rows and change log from the writes, sends it, and answers the server at once.
 * On the main thread, a response waited behind fetching, parsing and classifying, and the server
 * sat idle between the statements of a commit.
 *
 * Plain JavaScript: a worker gets none of the main thread's TypeScript loader. Ordering and
 * refusals: `writer-thread-loop.mjs`. A failure is `{ step, code, message, rowCount }`.
 */
import { workerData } from 'node:worker_threads';
import pg from 'pg';
import { serveWriter } from '../writer-thread-loop.mjs';
import { copyField, copyPayload } from './postgres-copy.mjs';

/**
 * @typedef {{ key: string, kind: string, data: string, hash: string, version: string | null,
 *   cursor: string | null, deleted: boolean }} Write
 */
/**
 * @typedef {{ sql?: string, params?: unknown[], expect?: 'fenced' | number, copy?: string,
 *   layout?: 'insert' | 'changes', items?: Write[], when?: { sql: string, params: unknown[] } }} Step
 */
/** @typedef {{ stream: string, runId: string, at: string, steps: Step[] }} Program */
/** @typedef {{ step: number, code: string | null, message: string, rowCount: number | null }} Failure */

/** @type {{ url: string, schema: string, connectTimeoutMs: number }} */
const options = workerData;
/** @type {pg.Client | null} */
let client = null;

serveWriter(apply, async () => {
  const open = client;
  client = null;
  await open?.end().catch(() => undefined);
});

/** The thread's connection, opened on first use and again after one broke. */
async function connection() {
  if (client) return client;
  const fresh = new pg.Client({
    connectionString: options.url,
    options: `-c search_path=${options.schema}`,
    connectionTimeoutMillis: options.connectTimeoutMs,
    keepAlive: true,
    application_name: 'syncline',
  });
  // A connection that dies between programs is replaced at the next one.
  fresh.on('error', () => {
    if (client === fresh) client = null;
  });
  await fresh.connect();
  client = fresh;
  return fresh;
}

/**
 * Runs the program's steps in one transaction; null when it committed.
 * @param {Program} program
 * @returns {Promise<Failure | null>}
 */
async function apply(program) {
  /** @type {pg.Client | null} */
  let c = null;
  let step = -1;
  try {
    c = await connection();
    await c.query('BEGIN');
    for (step = 0; step < program.steps.length; step++) {
      const s = /** @type {Step} */ (program.steps[step]);
      if (s.when && (await c.query(s.when.sql, s.when.params)).rows[0]?.present !== true) continue;
      if (s.copy !== undefined) {
        await copyPayload(c, s.copy, stepCopyText(program, s));
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
        return { step, code: null, message: 'the statement touched another number of rows', rowCount };
      }
    }
    step = -1;
    await c.query('COMMIT');
    return null;
  } catch (error) {
    if (c) {
      // A failed statement leaves the transaction aborted; a broken connection is not reused.
      await c.query('ROLLBACK').catch(() => {
        if (client === c) client = null;
        c?.end().catch(() => undefined);
      });
    }
    const code = /** @type {{ code?: unknown }} */ (error).code;
    return {
      step,
      code: typeof code === 'string' ? code : null,
      message: error instanceof Error ? error.message : String(error),
      rowCount: null,
    };
  }
}

/**
 * The COPY text of a step given as writes, by its layout.
 * @param {Program} program
 * @param {Step} step
 */
function stepCopyText({ stream, runId, at }, { layout, items = [] }) {
  const atField = copyField(at);
  const runField = copyField(runId);
  let out = '';
  if (layout === 'insert') {
    // RECORD_COLUMNS: _key, _data, _hash, _version, _cursor, _first_synced_at, _synced_at, _deleted_at, _run_id
    for (const w of items) {
      out += `${copyField(w.key)}\t${copyField(w.data)}\t${copyField(w.hash)}\t${copyField(w.version)}\t${copyField(w.cursor)}\t${atField}\t${atField}\t${w.deleted ? atField : '\\N'}\t${runField}\n`;
    }
    return out;
  }
  // The change log: stream, key, kind, hash, version, run_id, at; in write order.
  const head = copyField(stream);
  const tail = `\t${runField}\t${atField}\n`;
  for (const w of items) {
    out += `${head}\t${copyField(w.key)}\t${w.kind}\t${copyField(w.hash)}\t${copyField(w.version)}${tail}`;
  }
  return out;
}
