// @ts-check
/**
 * The settings of every connection a SQLite store opens: the main thread's and the writer
 * thread's (`sqlite-writer-worker.mjs`), so both write the file the same way. Plain JavaScript
 * because the writer thread gets no TypeScript loader.
 */

/**
 * WAL pages between checkpoints. Checkpoints are what fsync under `synchronous = NORMAL`: at the
 * default 1,000 pages one came every few commits and bulk loads ran at half speed; 16,384 pages
 * (64 MiB of WAL) measured 1.7-2x faster commits of 4,000-row pages.
 */
const WAL_AUTOCHECKPOINT_PAGES = 16_384;

/**
 * Sets a connection's own settings (the file's journal mode, WAL, is set once by the store).
 * NORMAL: a commit survives kill -9 (not power loss) without an fsync per commit.
 * @param {import('better-sqlite3').Database} db
 * @param {{ busyTimeoutMs: number, cacheSizeKiB: number }} options
 */
export function configureConnection(db, { busyTimeoutMs, cacheSizeKiB }) {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('synchronous = NORMAL');
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = ${-cacheSizeKiB}`);
}
