// @ts-check
/**
 * The settings of every connection a SQLite store opens: the main thread's and the writer
 * thread's (`sqlite-writer-worker.mjs`), so both write the file the same way. Plain JavaScript
 * because the writer thread gets no TypeScript loader. The benchmark's raw ingest uses the same
 * settings, so its limit is measured on the same kind of file.
 */

/**
 * WAL bytes between checkpoints. Under `synchronous = NORMAL` a checkpoint is what fsyncs (the WAL,
 * then the file), and a page rewritten by several commits between two checkpoints is copied into
 * the file once. Keys arrive in random order, so every commit rewrites leaf pages all over the
 * `_key` index: a 1M-record load writes ~4 GB of WAL, and the disk is then as much the limit as the
 * CPU. Measured (1M-record full sync, 3 runs each): 4 MiB (SQLite's default) ran at half speed,
 * 64 MiB 31.5-32.8 s, 256 MiB 25.8-28.1 s. The WAL file grows to about this size during a long
 * run; the last connection to close removes it.
 */
const WAL_CHECKPOINT_BYTES = 256 * 1024 * 1024;

/**
 * Gives a new database file its WAL journal (a no-op on a file that has it): readers never block
 * the writer, and the two connections of the store share the file. Larger pages were measured and
 * dropped: 8 KiB pages wrote each dirty index page twice as large (1M-record full sync 28.4-31.0 s
 * against 25.8-28.1 s with SQLite's 4 KiB).
 * @param {import('better-sqlite3').Database} db
 */
export function initializeFile(db) {
  db.pragma('journal_mode = WAL');
}

/**
 * Sets a connection's own settings.
 * NORMAL: a commit survives kill -9 (not power loss) without an fsync per commit.
 * @param {import('better-sqlite3').Database} db
 * @param {{ busyTimeoutMs: number, cacheSizeKiB: number }} options
 */
export function configureConnection(db, { busyTimeoutMs, cacheSizeKiB }) {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('synchronous = NORMAL');
  // In pages: the same bytes whatever the file's page size.
  const pageSize = /** @type {number} */ (db.pragma('page_size', { simple: true }));
  db.pragma(`wal_autocheckpoint = ${Math.round(WAL_CHECKPOINT_BYTES / pageSize)}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = ${-cacheSizeKiB}`);
}
