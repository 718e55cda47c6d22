/**
 * The system columns of a stream table (see `Store`), in the order COPY and the inserts write them
 * (both stores). A table that lacks one of them is not a stream table.
 */
export const RECORD_COLUMNS = [
  '_key',
  '_data',
  '_hash',
  '_version',
  '_cursor',
  '_first_synced_at',
  '_synced_at',
  '_deleted_at',
  '_run_id',
] as const;
