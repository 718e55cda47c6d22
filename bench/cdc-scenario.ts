import pg from 'pg';
import { newHolderId } from '../src/core/clock.ts';
import { SyncEventBus } from '../src/core/events.ts';
import type { Logger } from '../src/core/types.ts';
import { runStream } from '../src/engine/stream-runner.ts';
import { openStore } from '../src/runtime/open-store.ts';
import { cdcStream } from '../src/sources/cdc/cdc-stream.ts';
import { startPrivatePostgres } from '../test/helpers/private-postgres.ts';
import type { Sizes } from './bench-options.ts';
import type { Locations, StoreKind } from './locations.ts';

/**
 * The cdc section (issue 24): a private PostgreSQL cluster (wal_level=logical) with a
 * pgbench-style `accounts` table, read by a cdc stream. It measures the initial snapshot, the rate
 * the source writes changes alone (4 connections, transactions of 10 updates), then the same
 * load (15 s; 2 s below 100,000 source records, as `--size tiny`) while syncs run back to back in this process, until the slot is read to
 * its end: changes applied per second, and end-to-end lag per row (the store's `_synced_at` of its
 * last version minus the `clock_timestamp()` the writer stamped it with).
 */

/** Seconds of load with Syncline reading, and of the source alone (shorter at small sizes). */
const LOAD_SECONDS = { full: 15, small: 2 };
const ALONE_SECONDS = { full: 5, small: 1 };
const WRITERS = 4;
const ROWS_PER_TRANSACTION = 10;
const URL_ENV = 'BENCH_CDC_URL';

export interface CdcRun {
  readonly store: StoreKind;
  readonly rows: number;
  readonly snapshotRowsPerSecond: number;
  /** Changes per second the source writes with nothing reading the slot. */
  readonly sourceAlonePerSecond: number;
  /** Changes written during the load, and per second. */
  readonly loadChanges: number;
  readonly loadWrittenPerSecond: number;
  /** Changes applied per second, from the load's start until the stream caught up. */
  readonly appliedPerSecond: number;
  /** Seconds after the load ended until the stream had every change. */
  readonly drainSeconds: number;
  readonly syncs: number;
  /** Commit -> stored, per changed row (its last version), in ms. */
  readonly lag: { readonly rows: number; readonly p50: number; readonly p99: number; readonly max: number };
}

export interface CdcScenario {
  readonly runs: readonly CdcRun[];
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export async function runCdcScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<CdcScenario> {
  const rows = Math.max(1_000, Math.min(100_000, Math.round(sizes.records / 10)));
  const scale = sizes.records >= 100_000 ? 'full' : 'small';
  const runs: CdcRun[] = [];
  for (const store of ['sqlite', 'postgres'] as const) {
    runs.push(await runOne(locations, store, rows, LOAD_SECONDS[scale], ALONE_SECONDS[scale], log));
  }
  return { runs };
}

async function runOne(
  locations: Locations,
  kind: StoreKind,
  rows: number,
  loadSeconds: number,
  aloneSeconds: number,
  log: (line: string) => void,
): Promise<CdcRun> {
  const cluster = await startPrivatePostgres();
  process.env[URL_ENV] = cluster.url;
  const location = await locations.fresh(kind);
  const store = await openStore(location.location);
  const sql = new pg.Client({ connectionString: cluster.url });
  await sql.connect();
  try {
    await sql.query(
      'CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84), ts timestamptz)',
    );
    await sql.query(
      `INSERT INTO accounts SELECT i, i / 1000, 0, '', clock_timestamp() FROM generate_series(1, ${rows}) i`,
    );
    await sql.query('VACUUM ANALYZE accounts');
    const stream = cdcStream({
      name: 'accounts',
      key: 'aid',
      cdc: { urlEnv: URL_ENV, table: 'accounts', slot: 'bench' },
    });
    const sync = () =>
      runStream({
        store,
        stream,
        holder: newHolderId(),
        events: new SyncEventBus(),
        log: silent,
        secret: (name) => process.env[name]!,
        options: {},
      });
    const snapshotStart = performance.now();
    const first = await sync();
    if (first.status !== 'ok')
      throw new Error(`cdc bench: the snapshot run ended ${first.status}: ${first.error}`);
    const snapshotRowsPerSecond = rows / ((performance.now() - snapshotStart) / 1000);
    log(`cdc ${kind}: snapshot of ${rows} rows at ${Math.round(snapshotRowsPerSecond)} rows/s`);

    // The source alone: how fast it writes changes with nothing reading the slot.
    const alone = await writeLoad(cluster.url, rows, aloneSeconds);
    const sourceAlonePerSecond = alone.changes / alone.seconds;
    log(`cdc ${kind}: the source alone writes ${Math.round(sourceAlonePerSecond)} changes/s`);
    // Those changes are read (not timed) so the load starts from a caught-up stream.
    for (let i = 0; i < 20; i++) {
      const r = await sync();
      if (r.counters.fetched === 0) break;
    }

    const loadStart = performance.now();
    const loadStartIso = new Date().toISOString();
    let loading = true;
    let loadEnd = 0;
    const load = writeLoad(cluster.url, rows, loadSeconds).finally(() => {
      loading = false;
      loadEnd = performance.now();
    });
    let syncs = 0;
    for (;;) {
      const wasLoading = loading;
      const r = await sync();
      syncs++;
      if (r.status !== 'ok') throw new Error(`cdc bench: a sync ended ${r.status}: ${r.error}`);
      // Caught up: a sync that started after the load ended found nothing more.
      if (!wasLoading && r.counters.fetched === 0) break;
    }
    const written = await load;
    const caughtUp = performance.now();
    const appliedPerSecond = written.changes / ((caughtUp - loadStart) / 1000);
    log(
      `cdc ${kind}: ${written.changes} changes written at ${Math.round(written.changes / written.seconds)}/s, applied at ${Math.round(appliedPerSecond)}/s`,
    );

    const lags: number[] = [];
    let afterKey: string | undefined;
    for (;;) {
      const page = await store.scanRecords('accounts', { ...(afterKey ? { afterKey } : {}), limit: 10_000 });
      for (const record of page) {
        const ts = (record.data as { ts: string }).ts;
        if (ts < loadStartIso) continue;
        lags.push(Date.parse(record.syncedAt) - Date.parse(ts));
      }
      if (page.length < 10_000) break;
      afterKey = page.at(-1)!.key;
    }
    lags.sort((a, b) => a - b);
    const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? 0;
    return {
      store: kind,
      rows,
      snapshotRowsPerSecond,
      sourceAlonePerSecond,
      loadChanges: written.changes,
      loadWrittenPerSecond: written.changes / written.seconds,
      appliedPerSecond,
      drainSeconds: (caughtUp - (loadEnd || caughtUp)) / 1000,
      syncs,
      lag: { rows: lags.length, p50: at(0.5), p99: at(0.99), max: lags.at(-1) ?? 0 },
    };
  } finally {
    await sql.end().catch(() => undefined);
    await store.close();
    await cluster.stop();
    delete process.env[URL_ENV];
  }
}

/**
 * `WRITERS` connections, each committing transactions of `ROWS_PER_TRANSACTION` updates of random
 * accounts (stamped with the commit's clock) for `seconds`: the changes written.
 */
async function writeLoad(
  url: string,
  rows: number,
  seconds: number,
): Promise<{ changes: number; seconds: number }> {
  const started = performance.now();
  const until = started + seconds * 1000;
  let changes = 0;
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (seed % rows);
  };
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        while (performance.now() < until) {
          const ids = Array.from({ length: ROWS_PER_TRANSACTION }, next);
          const result = await client.query(
            'UPDATE accounts SET abalance = abalance + 1, ts = clock_timestamp() WHERE aid = ANY($1::int[])',
            [ids],
          );
          changes += result.rowCount ?? 0;
        }
      } finally {
        await client.end();
      }
    }),
  );
  return { changes, seconds: (performance.now() - started) / 1000 };
}
