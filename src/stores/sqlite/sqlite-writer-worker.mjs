// @ts-check
/**
 * The SQLite store's writer thread. It owns a second connection to the store's file and applies
 * write programs (`sqlite-apply-program.mjs`), one `BEGIN IMMEDIATE` transaction each. So the B-tree
 * and WAL work of a commit runs on its own core while the main thread fetches, parses and
 * classifies the next pages.
 *
 * Plain JavaScript on purpose: a worker gets none of the TypeScript loader of the main thread, and
 * everything it needs to know (SQL text, parameters, which step must change rows) comes in the
 * message. Ordering and refusals: `writer-thread-loop.mjs`.
 */
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { serveWriter } from '../writer-thread-loop.mjs';
import { programApplier } from './sqlite-apply-program.mjs';
import { configureConnection } from './sqlite-connection.mjs';

/** @type {{ path: string, busyTimeoutMs: number, cacheSizeKiB: number }} */
const options = workerData;
/** @type {Database.Database | null} */
let db = null;
/** Why the connection could not be opened; every program fails with it. */
let openError = /** @type {unknown} */ (null);
try {
  db = new Database(options.path, { timeout: options.busyTimeoutMs, fileMustExist: true });
  configureConnection(db, options);
} catch (error) {
  openError = error;
}

const apply = programApplier(() => {
  if (db) return db;
  throw openError ?? new Error('the writer connection is closed');
});

serveWriter(apply, () => {
  db?.close();
  db = null;
});
