import { createHash } from 'node:crypto';
import { pgStreamTableDdl } from '../src/stores/postgres/postgres-migrations.ts';
import { RECORD_COLUMNS } from '../src/stores/record-columns.ts';
import { sqliteStreamTableDdl } from '../src/stores/sqlite/sqlite-stream-table.ts';
import type { Customer } from './page-walk.ts';

/**
 * Syncline's record table, from the stores' own DDL: the raw-ingest limits and the hand-written
 * baseline write into the same columns, types, primary key and cursor index, so their rates
 * compare with Syncline's on equal terms.
 */
export { RECORD_COLUMNS };

/** One row, in `RECORD_COLUMNS` order; `null` for SQL NULL. */
export type RecordRow = [string, string, string, string, string, string, string, string | null, string];

/** Creates the table `name` (a plain identifier) and its cursor index, PostgreSQL flavour. */
export function pgRecordTableDdl(name: string): string {
  return pgStreamTableDdl(name).join(';\n');
}

/** The same table, SQLite flavour. */
export function sqliteRecordTableDdl(name: string): string {
  return sqliteStreamTableDdl(name);
}

/**
 * A customer as a row: its JSON text, a content hash like Syncline's (SHA-256, first 128 bits in
 * hex), version and cursor as text. `at` is the sync time (ISO), `runId` the writer's run.
 */
export function customerRow(record: Customer, at: string, runId: string): RecordRow {
  const data = JSON.stringify(record);
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 32);
  return [record.id, data, hash, String(record.version), record.updated_at, at, at, null, runId];
}
