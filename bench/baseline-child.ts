/**
 * The hand-written sync, the way blog articles write it: fetch a page, then one
 * `INSERT ... ON CONFLICT (_key) DO UPDATE` per record, each awaited before the next (every
 * statement its own transaction), and a checkpoint row at the end. No pipelining, no batching,
 * no change detection: the yardstick Syncline's rate is compared with. It stops at a number of
 * records or a time budget, whichever comes first: its rate depends on the commit latency of the
 * disk (an fsync per record on PostgreSQL), which varies a hundredfold between machines.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { childArgs, progress, runChildMain } from './child-io.ts';
import type { Throughput } from './limits-child.ts';
import { walkCustomers } from './page-walk.ts';
import { customerRow, pgRecordTableDdl, RECORD_COLUMNS, sqliteRecordTableDdl } from './record-table.ts';

export interface BaselineChildArgs {
  readonly apiUrl: string;
  /** Records to sync (the walk stops there): the baseline is too slow for the whole source. */
  readonly records: number;
  /** And at most this long per store: the walk stops after the first page past it. */
  readonly maxMs: number;
  readonly pg: { readonly url: string; readonly schema: string } | null;
  readonly sqlitePath: string | null;
}

export interface BaselineChildResult {
  readonly pg: Throughput | null;
  readonly sqlite: Throughput | null;
}

const STATE_DDL = 'CREATE TABLE sync_state (stream text PRIMARY KEY, checkpoint text, updated_at text)';
const UPDATE_SET = RECORD_COLUMNS.filter((c) => c !== '_key' && c !== '_first_synced_at')
  .map((c) => `${c} = EXCLUDED.${c}`)
  .join(', ');

function upsertSql(placeholder: (i: number) => string): string {
  return (
    `INSERT INTO customers (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map((_, i) => placeholder(i)).join(', ')}) ` +
    `ON CONFLICT (_key) DO UPDATE SET ${UPDATE_SET}`
  );
}

function checkpointSql(placeholder: (i: number) => string): string {
  return (
    `INSERT INTO sync_state (stream, checkpoint, updated_at) VALUES (${placeholder(0)}, ${placeholder(1)}, ${placeholder(2)}) ` +
    'ON CONFLICT (stream) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = EXCLUDED.updated_at'
  );
}

async function baselinePg(
  args: BaselineChildArgs,
  target: { url: string; schema: string },
): Promise<Throughput> {
  const client = new pg.Client({ connectionString: target.url, options: `-c search_path=${target.schema}` });
  await client.connect();
  try {
    await client.query(`${pgRecordTableDdl('customers')}; ${STATE_DDL}`);
    const upsert = upsertSql((i) => `$${i + 1}`);
    const began = performance.now();
    let rows = 0;
    let cursor: string | null = null;
    for await (const page of walkCustomers(args.apiUrl, { maxRecords: args.records })) {
      for (const record of page.records) {
        await client.query(upsert, customerRow(record, new Date().toISOString(), 'baseline'));
        rows++;
      }
      cursor = page.cursor;
      if (performance.now() - began > args.maxMs) break;
    }
    await client.query(
      checkpointSql((i) => `$${i + 1}`),
      ['customers', cursor, new Date().toISOString()],
    );
    const ms = performance.now() - began;
    progress(`baseline PostgreSQL: ${rows} records in ${(ms / 1000).toFixed(1)} s`);
    return { rows, ms };
  } finally {
    await client.end();
  }
}

async function baselineSqlite(args: BaselineChildArgs, path: string): Promise<Throughput> {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`${sqliteRecordTableDdl('customers')}; ${STATE_DDL}`);
    const upsert = db.prepare(upsertSql(() => '?'));
    const checkpoint = db.prepare(checkpointSql(() => '?'));
    const began = performance.now();
    let rows = 0;
    let cursor: string | null = null;
    for await (const page of walkCustomers(args.apiUrl, { maxRecords: args.records })) {
      for (const record of page.records) {
        upsert.run(...customerRow(record, new Date().toISOString(), 'baseline'));
        rows++;
      }
      cursor = page.cursor;
      if (performance.now() - began > args.maxMs) break;
    }
    checkpoint.run('customers', cursor, new Date().toISOString());
    const ms = performance.now() - began;
    progress(`baseline SQLite: ${rows} records in ${(ms / 1000).toFixed(1)} s`);
    return { rows, ms };
  } finally {
    db.close();
  }
}

async function main(): Promise<BaselineChildResult> {
  const args = childArgs<BaselineChildArgs>();
  return {
    pg: args.pg === null ? null : await baselinePg(args, args.pg),
    sqlite: args.sqlitePath === null ? null : await baselineSqlite(args, args.sqlitePath),
  };
}

runChildMain(main);
