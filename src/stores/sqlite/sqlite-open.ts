import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describeError, StoreUnavailableError, SyncError } from '../../core/errors.ts';
import type { StoreOpenOptions } from '../../core/store.ts';
import { foreignTableError } from '../foreign-table-error.ts';
import { configureConnection, initializeFile } from './sqlite-connection.mjs';
import { migrateSqlite, readSchemaVersion } from './sqlite-migrations.ts';

type Db = Database.Database;

/**
 * Opens the store's main connection on `path` as `options.mode` asks, or throws
 * `StoreUnavailableError` with one line, having created and changed nothing:
 *
 * - `write` and `read` need the file to exist and to be a Syncline store (it has `syncline_schema`);
 * - a table named like one of `options.streams` must be a stream table (`foreignTableError`);
 * - `create` and `write` need the file writable. SQLite opens a file it may not write read-only
 *   without a word and reports it at the first write (a sync failed at its first commit), so a write
 *   is tried and rolled back here. A read-only directory is refused too: a WAL database needs its
 *   `-wal` and `-shm` files beside it;
 * - `read` neither converts the file to WAL nor tries a write, so a read-only file can still be read
 *   where SQLite allows it.
 *
 * Then the file is migrated. Processes opening a new file at once race for the locks that switching
 * to WAL and migrating take; SQLite reports some of those as "database is locked" at once instead of
 * waiting (it avoids a deadlock), so the open is tried again for as long as the busy timeout allows.
 */
export async function openSqlite(args: {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly cacheSizeKiB: number;
  readonly options: StoreOpenOptions;
}): Promise<Db> {
  const { path, busyTimeoutMs } = args;
  const mode = args.options.mode ?? 'create';
  if (mode !== 'create' && !existsSync(path)) {
    throw new StoreUnavailableError(
      `no Syncline store at "${path}": the file does not exist (nothing was created); ` +
        'check the store location, or let a sync create it',
    );
  }
  const deadline = Date.now() + busyTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    let db: Db | undefined;
    try {
      db = new Database(path, { timeout: busyTimeoutMs, fileMustExist: mode !== 'create' });
      if (mode !== 'create' && readSchemaVersion(db) === 0) {
        throw new StoreUnavailableError(
          `no Syncline store at "${path}": the file has no Syncline tables (nothing was changed); ` +
            'check the store location',
        );
      }
      for (const stream of args.options.streams ?? []) refuseForeignTable(db, stream, path);
      if (mode !== 'read') {
        initializeFile(db);
        tryWrite(db);
      }
      configureConnection(db, { busyTimeoutMs, cacheSizeKiB: args.cacheSizeKiB });
      migrateSqlite(db);
      return db;
    } catch (error) {
      db?.close();
      if (error instanceof SyncError) throw error;
      const code = (error as { code?: string }).code ?? '';
      if ((code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') && Date.now() < deadline) {
        await sleep(Math.min(200, 10 * attempt) + Math.floor(Math.random() * 20));
        continue;
      }
      throw openError(error, code, path, mode);
    }
  }
}

/**
 * Throws `foreignTableError` when a table named `stream` exists in `db` and is not a stream table.
 * `where` is the file, as the message names it.
 */
export function refuseForeignTable(db: Db, stream: string, where: string): void {
  const columns = db.prepare<[string], string>('SELECT name FROM pragma_table_info(?)').pluck().all(stream);
  if (columns.length === 0) return; // no such table
  const error = foreignTableError(stream, columns, `"${where}"`);
  if (error) throw error;
}

/** A change rolled back at once: SQLite says whether the file can be written only at a first write. */
function tryWrite(db: Db): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE syncline_write_check (x)');
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
  }
}

/** One line saying what could not be done to which file, and what to do about it. */
function openError(
  error: unknown,
  code: string,
  path: string,
  mode: 'create' | 'write' | 'read',
): StoreUnavailableError {
  const reason = describeError(error).replace(/\s+/g, ' ');
  const action = mode === 'read' ? 'read' : 'write';
  let message: string;
  if (code === 'SQLITE_READONLY_DIRECTORY') {
    message =
      `cannot ${action} the SQLite store at "${path}": its directory is read-only, and SQLite must create ` +
      `"${path}-wal" and "${path}-shm" beside the file; make the directory writable by this user`;
  } else if (code.startsWith('SQLITE_READONLY')) {
    // In `read` mode the only write is a migration to this version's schema.
    message =
      mode === 'read'
        ? `cannot migrate the SQLite store at "${path}" to this version of Syncline: the file is read-only ` +
          `for this user (${code}); make it writable once, or read it with the version that wrote it`
        : `cannot write the SQLite store at "${path}": the file is read-only for this user (${code}); ` +
          'make it and its directory writable (read-only commands can still read it)';
  } else if (code === 'SQLITE_CANTOPEN') {
    message =
      `cannot ${mode === 'create' ? 'create or open' : 'open'} the SQLite store at "${path}": ${reason} (${code}); ` +
      'check that its directory exists and that this user may write there';
  } else {
    message = `cannot open the SQLite store at "${path}": ${reason}`;
  }
  return new StoreUnavailableError(message, { cause: error });
}
