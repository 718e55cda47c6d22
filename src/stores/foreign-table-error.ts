import { StoreUnavailableError } from '../core/errors.ts';
import { RECORD_COLUMNS } from './record-columns.ts';

/**
 * The refusal of a table named like stream `stream` whose columns are `columns`, or null when it has
 * every system column (a stream table, which a store adopts as it is). Such a table is usually the
 * user's own, met by a stream of the same name: writing into it, or creating Syncline's tables beside
 * it, would fail at the first commit at best. `where` names the store, without credentials.
 */
export function foreignTableError(
  stream: string,
  columns: readonly string[],
  where: string,
): StoreUnavailableError | null {
  const present = new Set(columns);
  const missing = RECORD_COLUMNS.filter((column) => !present.has(column));
  if (missing.length === 0) return null;
  return new StoreUnavailableError(
    `table "${stream}" in ${where} is not a Syncline stream table: it lacks ${missing.join(', ')}; ` +
      'nothing was changed; rename the stream (or that table), or use another store location',
    { stream },
  );
}
