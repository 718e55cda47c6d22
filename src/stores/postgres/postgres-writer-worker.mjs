// @ts-check
/**
 * The PostgreSQL store's writer thread. It owns one connection of its own and applies write
 * programs (`postgres-apply-program.mjs`), one transaction each. On the main thread, a response
 * waited behind fetching, parsing and classifying, and the server sat idle between the statements
 * of a commit.
 *
 * Plain JavaScript: a worker gets none of the main thread's TypeScript loader. Ordering and
 * refusals: `writer-thread-loop.mjs`.
 */
import { workerData } from 'node:worker_threads';
import pg from 'pg';
import { serveWriter } from '../writer-thread-loop.mjs';
import { applyPgProgram, pgFailure } from './postgres-apply-program.mjs';

/** @type {{ url: string, schema: string, connectTimeoutMs: number }} */
const options = workerData;
/** @type {pg.Client | null} */
let client = null;

/** The thread's connection, opened at start, and again at the next program after one broke. */
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

// Ready means ready to send: connected (a failure here is the first program's to report).
await connection().catch(() => undefined);

serveWriter(
  /** @param {import('./postgres-apply-program.mjs').Program} program */
  async (program) => {
    /** @type {pg.Client} */
    let c;
    try {
      c = await connection();
    } catch (error) {
      return pgFailure(-1, error);
    }
    const { failure, broken } = await applyPgProgram(c, program);
    if (broken) {
      if (client === c) client = null;
      c.end().catch(() => undefined);
    }
    return failure;
  },
  async () => {
    const open = client;
    client = null;
    await open?.end().catch(() => undefined);
  },
);
