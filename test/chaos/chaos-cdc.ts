import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { canonicalJson } from '../../src/core/canonical-json.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { pgTextToJson } from '../../src/sources/cdc/pg-text-values.ts';
import { startPrivatePostgres } from '../helpers/private-postgres.ts';
import { seeded } from '../helpers/seeded-random.ts';
import { freshLocation } from '../helpers/stores.ts';

/**
 * `npm run chaos -- --cdc --seed N --minutes M --store sqlite|postgres`: change data capture under
 * kills. A private PostgreSQL cluster (wal_level=logical) holds two tables, `accounts` (a key of
 * one column) and `entries` (a composite key), 20,000 accounts to start, so the first runs are
 * killed inside the initial snapshot. A seeded writer changes them without pause: inserts, updates,
 * deletes, transactions over both tables, rolled-back transactions, primary-key updates, a
 * `TRUNCATE entries` and an added column. Meanwhile `syncline sync` (both streams, one slot) runs
 * again and again, each run SIGKILLed at a random moment with probability 0.7. Then the writer
 * stops, the runs go on unharmed until the slot is read to its end, and each stream table is
 * compared with its table: missing (a row without a live record), stale (a record whose data
 * differs), zombie (a live record of no row). Prints one summary line; exits 1 on a difference.
 */
export interface CdcChaosOptions {
  readonly seed: number;
  readonly minutes: number;
  readonly store: 'sqlite' | 'postgres';
  /**
   * `sync` (default): `syncline sync` runs one after another. `run`: services (`syncline run`, both
   * streams every second, `--no-listen`) killed with SIGKILL, or stopped with SIGTERM (then they
   * must exit 0), after 1-4 s each.
   */
  readonly process?: 'sync' | 'run';
  /**
   * Kills the chaos must have dealt: it goes on past `minutes` (for up to a minute more) until it
   * has, so a loaded machine does not end it with fewer than a test asks for. Default 0.
   */
  readonly minKills?: number;
  readonly verbose?: boolean;
  readonly log?: (line: string) => void;
}

export interface CdcChaosReport {
  readonly ok: boolean;
  readonly summary: string;
  readonly kills: number;
  readonly terms: number;
  readonly runs: number;
  readonly restartedSnapshots: number;
  readonly transactions: number;
  readonly rolledBack: number;
  readonly missing: number;
  readonly stale: number;
  readonly zombie: number;
}

const BIN = resolve(import.meta.dirname, '../../bin/syncline.mjs');
const URL_ENV = 'CHAOS_CDC_URL';

export async function runCdcChaos(options: CdcChaosOptions): Promise<CdcChaosReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rand = seeded(options.seed);
  const cluster = await startPrivatePostgres();
  const location = await freshLocation(options.store);
  const dir = mkdtempSync(join(tmpdir(), 'syncline-chaos-cdc-'));
  const sql = new pg.Client({ connectionString: cluster.url });
  await sql.connect();
  let writing = true;
  let transactions = 0;
  let rolledBack = 0;
  let kills = 0;
  let terms = 0;
  let runs = 0;
  let restartedSnapshots = 0;
  let termFailures = 0;
  try {
    await sql.query(
      `CREATE TABLE accounts (id int PRIMARY KEY, name text, balance numeric(14,2), at timestamptz, tags jsonb)`,
    );
    await sql.query(
      'CREATE TABLE entries (account_id int, n int, amount numeric(14,2), PRIMARY KEY (account_id, n))',
    );
    await sql.query(`INSERT INTO accounts SELECT i, 'account ' || i, i * 1.5, now(), jsonb_build_object('i', i)
                       FROM generate_series(1, 20000) i`);
    await sql.query('INSERT INTO entries SELECT i % 5000, i, i FROM generate_series(1, 10000) i');
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      [
        `store: ${JSON.stringify(location.location)}`,
        'service:',
        '  schedule: { every: 1s, jitter: 0s }',
        '  shutdownTimeout: 10s',
        'streams:',
        '  - name: accounts',
        '    type: cdc',
        '    key: id',
        `    cdc: { urlEnv: ${URL_ENV}, table: public.accounts, slot: chaos, snapshotPageSize: 500 }`,
        '  - name: entries',
        '    type: cdc',
        '    key: [account_id, n]',
        `    cdc: { urlEnv: ${URL_ENV}, table: public.entries, slot: chaos, snapshotPageSize: 500 }`,
        '',
      ].join('\n'),
    );

    // The writer: one change or transaction after another, seeded.
    const writer = (async () => {
      const w = new pg.Client({ connectionString: cluster.url });
      await w.connect();
      let nextId = 20_001;
      let truncated = false;
      let altered = false;
      const started = Date.now();
      const duration = options.minutes * 60_000;
      try {
        while (writing) {
          const r = rand();
          const id = 1 + Math.floor(rand() * (nextId - 1));
          if (r < 0.3) {
            await w.query(`INSERT INTO accounts VALUES ($1::int, 'new ' || $1::text, 0, now(), '{}')`, [
              nextId++,
            ]);
          } else if (r < 0.6) {
            await w.query('UPDATE accounts SET balance = balance + 1, at = now() WHERE id = $1', [id]);
          } else if (r < 0.7) {
            await w.query('DELETE FROM accounts WHERE id = $1', [id]);
          } else if (r < 0.85) {
            await w.query('BEGIN');
            await w.query('UPDATE accounts SET balance = balance - 5 WHERE id = $1', [id]);
            await w.query(
              'INSERT INTO entries VALUES ($1, $2, -5) ON CONFLICT (account_id, n) DO UPDATE SET amount = entries.amount - 5',
              [id % 5000, 100_000 + Math.floor(rand() * 100_000)],
            );
            await w.query('DELETE FROM entries WHERE account_id = $1 AND n % 7 = 0', [id % 5000]);
            await w.query('COMMIT');
          } else if (r < 0.9) {
            await w.query('BEGIN');
            await w.query(`INSERT INTO accounts VALUES ($1, 'never', 0, now(), '{}')`, [nextId + 1_000_000]);
            await w.query('DELETE FROM accounts WHERE id = $1', [id]);
            await w.query('ROLLBACK');
            rolledBack++;
          } else if (r < 0.95) {
            // A primary key changes: the old key must go, the new one come.
            await w.query('UPDATE accounts SET id = $2 WHERE id = $1', [id, nextId++]).catch(() => undefined);
          } else {
            await w.query('UPDATE entries SET amount = amount + 1 WHERE account_id = $1', [id % 5000]);
          }
          transactions++;
          const elapsed = Date.now() - started;
          if (!truncated && elapsed > duration * 0.6) {
            truncated = true;
            await w.query('TRUNCATE entries');
            await w.query('INSERT INTO entries SELECT i % 100, i, i FROM generate_series(1, 500) i');
          }
          if (!altered && elapsed > duration * 0.4) {
            altered = true;
            await w.query('ALTER TABLE accounts ADD COLUMN note text');
            await w.query("UPDATE accounts SET note = 'after the column' WHERE id % 97 = 0");
          }
          if (rand() < 0.05) await new Promise((r2) => setTimeout(r2, 5));
        }
      } finally {
        await w.end();
      }
    })();

    const env = { ...process.env, [URL_ENV]: cluster.url, SYNCLINE_LOG_FORMAT: 'json' };
    /**
     * One `syncline sync`: left alone, killed at a random moment, or (`snapshot`) killed once it
     * says it is reading the snapshot, 100-600 ms in.
     */
    const sync = (kill: boolean | 'snapshot') =>
      new Promise<{ code: number | null; killed: boolean; stderr: string }>((done) => {
        const child: ChildProcess = spawn(process.execPath, [BIN, 'sync'], {
          cwd: dir,
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        let killed = false;
        let timer: NodeJS.Timeout | null = null;
        const killLater = (ms: number) => {
          timer = setTimeout(() => {
            killed = true;
            child.kill('SIGKILL');
          }, ms);
        };
        child.stderr!.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (kill === 'snapshot' && timer === null && stderr.includes('in the snapshot at')) {
            killLater(100 + Math.floor(rand() * 500));
          }
        });
        if (kill === true) killLater(50 + Math.floor(rand() * 1500));
        child.on('exit', (code) => {
          if (timer) clearTimeout(timer);
          done({ code, killed, stderr });
        });
      });
    /** One `syncline run`, SIGKILLed or SIGTERMed (it must then exit 0) after 1-4 s. */
    const service = () =>
      new Promise<{ code: number | null; killed: boolean; termed: boolean; stderr: string }>((done) => {
        const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '--no-listen'], {
          cwd: dir,
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        const kill = rand() < 0.7;
        // A SIGTERM goes to a service that has started (logged): before its handlers exist, Node
        // would just die of it, which proves nothing.
        const timer = setTimeout(
          () => {
            if (kill || stderr.length > 0) child.kill(kill ? 'SIGKILL' : 'SIGTERM');
            else child.stderr!.once('data', () => child.kill('SIGTERM'));
          },
          1000 + Math.floor(rand() * 3000),
        );
        child.on('exit', (code) => {
          clearTimeout(timer);
          done({ code, killed: kill && code === null, termed: !kill, stderr });
        });
      });
    const deadline = Date.now() + options.minutes * 60_000;
    const latest = deadline + 60_000;
    while (Date.now() < deadline || (kills < (options.minKills ?? 0) && Date.now() < latest)) {
      if (options.process === 'run' && runs >= 2) {
        const outcome = await service();
        runs++;
        if (outcome.killed) kills++;
        if (outcome.termed) {
          terms++;
          if (outcome.code !== 0) {
            log(
              `cdc chaos: a service stopped with SIGTERM exited ${outcome.code}: ${outcome.stderr.trim().split('\n').slice(-30).join('\n')}`,
            );
            termFailures++;
          }
        }
        restartedSnapshots += (outcome.stderr.match(/the initial snapshot was interrupted/g) ?? []).length;
        if (options.verbose) log(`service ${runs}: ${outcome.killed ? 'killed' : `exit ${outcome.code}`}`);
        continue;
      }
      const outcome = await sync(runs < 2 ? 'snapshot' : rand() < 0.7);
      runs++;
      if (outcome.killed) kills++;
      restartedSnapshots += (outcome.stderr.match(/the initial snapshot was interrupted/g) ?? []).length;
      if (!outcome.killed && outcome.code !== 0) {
        log(
          `cdc chaos: a run that was not killed exited ${outcome.code}: ${outcome.stderr.trim().split('\n').at(-1)}`,
        );
      }
      if (options.verbose) {
        const notes = outcome.stderr
          .split('\n')
          .filter((l) => /snapshot|slot/.test(l))
          .map((l) => (JSON.parse(l) as { msg: string }).msg);
        log(`run ${runs}: ${outcome.killed ? 'killed' : `exit ${outcome.code}`} ${notes.join(' | ')}`);
      }
    }
    writing = false;
    await writer;
    // The end: runs without kills until one reads nothing new.
    for (let i = 0; i < 10; i++) {
      const outcome = await sync(false);
      runs++;
      restartedSnapshots += (outcome.stderr.match(/the initial snapshot was interrupted/g) ?? []).length;
      if (outcome.code !== 0)
        throw new Error(`the final sync exited ${outcome.code}: ${outcome.stderr.slice(-2000)}`);
      if (!/"(inserted|updated|deleted)":[1-9]/.test(outcome.stderr)) break;
    }

    const store = await openStore(location.location);
    let missing = 0;
    let stale = 0;
    let zombie = 0;
    const firstKeys: string[] = [];
    try {
      for (const [stream, keys] of [
        ['accounts', ['id']],
        ['entries', ['account_id', 'n']],
      ] as const) {
        const result = await sql.query({
          text: `SELECT * FROM ${stream}`,
          types: { getTypeParser: () => (v: string) => v } as never,
        });
        const source = new Map<string, Record<string, unknown>>();
        for (const raw of result.rows as Record<string, string | null>[]) {
          const row: Record<string, unknown> = {};
          for (const f of result.fields) row[f.name] = pgTextToJson(f.dataTypeID, raw[f.name] ?? null);
          source.set(keys.length === 1 ? String(row[keys[0]]) : JSON.stringify(keys.map((k) => row[k])), row);
        }
        const stored = new Map<string, Record<string, unknown>>();
        for (const r of await store.scanRecords(stream, { limit: 10_000_000 })) {
          if (r.deletedAt === null) stored.set(r.key, r.data as Record<string, unknown>);
        }
        for (const [key, row] of source) {
          const have = stored.get(key);
          if (!have) {
            missing++;
            firstKeys.push(`${stream} missing ${key}`);
          } else if (!sameRow(row, have)) {
            stale++;
            firstKeys.push(`${stream} stale ${key}`);
          }
        }
        for (const key of stored.keys()) {
          if (!source.has(key)) {
            zombie++;
            firstKeys.push(`${stream} zombie ${key}`);
          }
        }
      }
    } finally {
      await store.close();
    }
    const ok = missing + stale + zombie + termFailures === 0;
    const summary =
      `cdc chaos (seed ${options.seed}, ${options.store}, ${options.process ?? 'sync'}): ${runs} processes, ${kills} kills, ${terms} terms` +
      `${termFailures > 0 ? ` (${termFailures} not exiting 0)` : ''}, ${restartedSnapshots} snapshots restarted, ` +
      `${transactions} writer transactions (${rolledBack} rolled back), ${missing} missing, ${stale} stale, ${zombie} zombie` +
      (ok ? '' : `; first: ${firstKeys.slice(0, 5).join(', ')}`);
    return {
      ok,
      summary,
      kills,
      terms,
      runs,
      restartedSnapshots,
      transactions,
      rolledBack,
      missing,
      stale,
      zombie,
    };
  } finally {
    writing = false;
    await sql.end().catch(() => undefined);
    await cluster.stop();
    await location.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A record equals its row when every column of the row has the same value, except that a column
 * added to the table after the record's last change is absent from it (null in the row): records
 * take their table's shape when their row changes.
 */
function sameRow(row: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  for (const [name, value] of Object.entries(row)) {
    if (!(name in stored)) {
      if (value === null) continue;
      return false;
    }
    if (canonicalJson(stored[name] as never) !== canonicalJson(value as never)) return false;
  }
  return Object.keys(stored).every((name) => name in row);
}
