/**
 * The limits: how fast the parts Syncline is made of can go on their own, measured in one process
 * in turn. Raw fetch: the cursor walk with fetch + JSON.parse and nothing else. Raw ingest: the
 * same records, prepared in memory beforehand (rows, hashes, COPY text: not timed), written the
 * fastest way each database offers: one COPY on PostgreSQL, one prepared INSERT in large
 * transactions on SQLite, into tables shaped like Syncline's.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { copyText } from '../src/stores/postgres/postgres-copy.mjs';
import { configureConnection, initializeFile } from '../src/stores/sqlite/sqlite-connection.mjs';
import { childArgs, progress, runChildMain } from './child-io.ts';
import { walkCustomers } from './page-walk.ts';
import {
  customerRow,
  pgRecordTableDdl,
  RECORD_COLUMNS,
  type RecordRow,
  sqliteRecordTableDdl,
} from './record-table.ts';

export interface LimitsChildArgs {
  readonly apiUrl: string;
  /** PostgreSQL server and the fresh schema to write in; null skips the COPY limit. */
  readonly pg: { readonly url: string; readonly schema: string } | null;
  /** A fresh SQLite file; null skips the SQLite limit. */
  readonly sqlitePath: string | null;
}

/** One limit: `rows` handled in `ms`. */
export interface Throughput {
  readonly rows: number;
  readonly ms: number;
}

export interface LimitsChildResult {
  readonly fetch: Throughput & { readonly bytes: number };
  readonly pgCopy: Throughput | null;
  readonly sqliteInsert: Throughput | null;
}

/** Rows per SQLite transaction: large enough that commits cost nothing measurable. */
const SQLITE_TX_ROWS = 50_000;

/** The whole source, timed per request; the bodies are kept to build rows afterwards, untimed. */
async function fetchAll(apiUrl: string): Promise<{ fetch: LimitsChildResult['fetch']; bodies: string[] }> {
  const bodies: string[] = [];
  let rows = 0;
  let bytes = 0;
  let ms = 0;
  for await (const page of walkCustomers(apiUrl)) {
    rows += page.records.length;
    bytes += page.body.length;
    ms += page.ms;
    bodies.push(page.body);
  }
  progress(`raw fetch: ${rows} records in ${(ms / 1000).toFixed(1)} s`);
  return { fetch: { rows, ms, bytes }, bodies };
}

async function copyIntoPg(
  target: { url: string; schema: string },
  pages: RecordRow[][],
): Promise<Throughput> {
  const chunks = pages.map((rows) => Buffer.from(copyText(rows), 'utf8'));
  const client = new pg.Client({ connectionString: target.url, options: `-c search_path=${target.schema}` });
  await client.connect();
  try {
    await client.query(pgRecordTableDdl('customers'));
    const began = performance.now();
    await client.query('BEGIN');
    const copy = client.query(copyStreams.from(`COPY customers (${RECORD_COLUMNS.join(', ')}) FROM STDIN`));
    const done = finished(copy);
    for (const chunk of chunks) if (!copy.write(chunk)) await once(copy, 'drain');
    copy.end();
    await done;
    await client.query('COMMIT');
    const ms = performance.now() - began;
    progress(`raw PostgreSQL COPY: ${copy.rowCount} rows in ${(ms / 1000).toFixed(1)} s`);
    return { rows: copy.rowCount, ms };
  } finally {
    await client.end();
  }
}

function insertIntoSqlite(path: string, pages: RecordRow[][]): Throughput {
  const db = new Database(path);
  try {
    // The store's file format and connection settings (sqlite-connection.mjs), with a larger cache:
    // the limit, not the store.
    initializeFile(db);
    configureConnection(db, { busyTimeoutMs: 5000, cacheSizeKiB: 65_536 });
    db.exec(sqliteRecordTableDdl('customers'));
    const insert = db.prepare<RecordRow>(
      `INSERT INTO customers (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})`,
    );
    const insertMany = db.transaction((rows: RecordRow[]) => {
      for (const row of rows) insert.run(...row);
    });
    const all = pages.flat();
    const began = performance.now();
    for (let i = 0; i < all.length; i += SQLITE_TX_ROWS) insertMany(all.slice(i, i + SQLITE_TX_ROWS));
    const ms = performance.now() - began;
    progress(`raw SQLite INSERT: ${all.length} rows in ${(ms / 1000).toFixed(1)} s`);
    return { rows: all.length, ms };
  } finally {
    db.close();
  }
}

async function main(): Promise<LimitsChildResult> {
  const args = childArgs<LimitsChildArgs>();
  const { fetch, bodies } = await fetchAll(args.apiUrl);
  if (args.pg === null && args.sqlitePath === null) return { fetch, pgCopy: null, sqliteInsert: null };
  const at = new Date().toISOString();
  const pages = bodies.map((body) =>
    (JSON.parse(body) as { data: Parameters<typeof customerRow>[0][] }).data.map((r) =>
      customerRow(r, at, 'bench'),
    ),
  );
  bodies.length = 0;
  const pgCopy = args.pg === null ? null : await copyIntoPg(args.pg, pages);
  const sqliteInsert = args.sqlitePath === null ? null : insertIntoSqlite(args.sqlitePath, pages);
  return { fetch, pgCopy, sqliteInsert };
}

runChildMain(main);
