import { createHash } from 'node:crypto';
import type { Customer } from './page-walk.ts';

/**
 * The shape of Syncline's record table, copied from the stores' DDL
 * (`src/stores/postgres/postgres-migrations.ts` `createStreamTable`,
 * `src/stores/sqlite/sqlite-stream-table.ts`): the raw-ingest limits and the hand-written baseline
 * write into the same columns, types, primary key and cursor index, so their rates compare with
 * Syncline's on equal terms.
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

/** One row, in `RECORD_COLUMNS` order; `null` for SQL NULL. */
export type RecordRow = [string, string, string, string, string, string, string, string | null, string];

/** Creates the table `name` (a plain identifier) and its cursor index, PostgreSQL flavour. */
export function pgRecordTableDdl(name: string): string {
  return `CREATE TABLE "${name}" (
      _key text COLLATE "C" PRIMARY KEY,
      _data jsonb NOT NULL,
      _hash text NOT NULL,
      _version text,
      _cursor text,
      _first_synced_at timestamptz NOT NULL,
      _synced_at timestamptz NOT NULL,
      _deleted_at timestamptz,
      _run_id text NOT NULL
    );
    CREATE INDEX "${name}__cursor" ON "${name}" (_cursor);`;
}

/** The same table, SQLite flavour. */
export function sqliteRecordTableDdl(name: string): string {
  return `CREATE TABLE "${name}" (
      _key TEXT PRIMARY KEY,
      _data TEXT NOT NULL,
      _hash TEXT NOT NULL,
      _version TEXT,
      _cursor TEXT,
      _first_synced_at TEXT NOT NULL,
      _synced_at TEXT NOT NULL,
      _deleted_at TEXT,
      _run_id TEXT NOT NULL
    );
    CREATE INDEX "${name}__cursor" ON "${name}" (_cursor);`;
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
