import Database from 'better-sqlite3';
import { describeError, FatalError, SyncError, TransientError } from '../../core/errors.ts';

/**
 * Turns what better-sqlite3 threw into a typed error, so no bare `Error` leaves the store.
 * A lock held by another process past `busy_timeout` is transient (retry); anything else is fatal.
 * Errors that already carry their meaning (`LeaseLostError`, ...) pass through unchanged.
 */
export function toSyncError(error: unknown, what: string, stream?: string): SyncError {
  if (error instanceof SyncError) return error;
  const reason = describeError(error);
  const on = stream === undefined ? '' : ` of stream "${stream}"`;
  const code = error instanceof Database.SqliteError ? error.code : '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new TransientError(
      `SQLite store busy while trying to ${what}${on}: ${reason}; another process held the write lock, retry later`,
      { stream, cause: error },
    );
  }
  return new FatalError(`SQLite store failed to ${what}${on}: ${reason}`, { stream, cause: error });
}

/** Whether better-sqlite3 refused a write for a primary-key (or unique) conflict. */
export function isKeyConflict(error: unknown): boolean {
  return (
    error instanceof Database.SqliteError &&
    (error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || error.code === 'SQLITE_CONSTRAINT_UNIQUE')
  );
}
