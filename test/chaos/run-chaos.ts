/**
 * `npm run chaos -- --seed N --minutes M --store sqlite|postgres
 *   [--style cursor|link|keyset|keyset-gte|page|offset|window|feed|all, or several with commas; all: every one but feed]
 *   [--records N] [--regress WEIGHT (0.3; 0 = no version regressions)] [--process sync|run] [--sinks]
 *   [--destination [--crm-idempotency on|off]] [--webhooks] [--websocket] [--workers N] [--verbose]`
 * `npm run chaos -- --cdc --seed N --minutes M --store sqlite|postgres [--process sync|run]`: change
 * data capture under kills, a chaos of its own (test/chaos/chaos-cdc.ts): a private PostgreSQL
 * cluster with a seeded writer, `syncline sync` of two cdc streams SIGKILLed at random moments (the
 * first two inside the initial snapshot), or with `--process run` services syncing them every second,
 * SIGKILLed or SIGTERMed (exit 0 required) after 1-4 s; then the stream tables compared with the
 * tables.
 * `npm run chaos -- --files --seed N --minutes M --store sqlite|postgres [--verbose]`: file streams
 * instead (chaos-files.ts): files rewritten, appended to (half lines too), created, deleted and
 * touched between and during `syncline sync` processes SIGKILLed at random, then the streams against
 * the files' final content (0 missing / stale / zombie / duplicated). Runs:
 *   --files --seed 7 --minutes 1.5 --store sqlite: 64 sync processes (41 killed), 112 mutations (35 rewrites,
 *   35 appends of which 14 half lines, 17 files created, 12 deleted, 19 touched); chaos_csv 8,991 rows in 2 files,
 *   chaos_ndjson 5,804 rows in 3 files: 0 missing, 0 stale, 0 zombie, 0 duplicated
 *   --files --seed 7 --minutes 1.5 --store postgres: 65 sync processes (45 killed), 115 mutations (35 rewrites,
 *   36 appends of which 14 half lines, 17 files created, 12 deleted, 21 touched); chaos_csv 9,268 rows in 2 files,
 *   chaos_ndjson 5,804 rows in 3 files: 0 missing, 0 stale, 0 zombie, 0 duplicated
 * `--process run` kills and stops the service (`syncline run`, every stream every second) instead of
 * one `syncline sync` after another.
 * `--sinks` (with `--process run`) adds sinks the killed services deliver: a webhook (batches of 20,
 * the first two streams) to a receiver the harness runs on 127.0.0.1, which verifies every request's
 * Standard Webhooks signature and answers 500/503 or hangs past the timeout for 5% of them (seeded);
 * a Redis stream per stream at 127.0.0.1:6379 (under a key prefix of the run's own, deleted after);
 * a NATS JetStream stream of the run's own at 127.0.0.1:4222 (created by the sink, read back with an
 * ordered consumer, deleted after); and an sse sink whose client follows every service (since=0,
 * then Last-Event-ID after each kill or stop). When the chaos ends, `syncline sinks run` delivers the
 * rest beside the final syncs, then a `syncline run` without a schedule serves the SSE client the
 * end of the log; each sink must have received every change-log row at least once (no gap), nothing
 * else, the first receipts in seq order; the summary counts events, receipts and duplicates per
 * sink. A sink that stops, pauses or dead-letters an event, or an SSE `event: reset`, is a problem.
 * Needs a Redis and a NATS with JetStream:
 *   redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
 *   start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server
 * `--destination` (with `--process run`) adds a destination the killed services run: the first
 * stream that accepts version regressions (customers_cursor with every style) into the simulator's
 * CRM, mode mirror (deletes follow), find-before-create, its bearer token from the environment.
 * During the chaos the CRM (seeded) loses the answers of writes it applied (the socket destroyed, or
 * a 504) a few percent each, and answers 500/503, resets and answers slowly a little. Odd seeds run
 * with its Idempotency-Key support on, even seeds off (`--crm-idempotency on|off` says which), so
 * half of the runs rely on find-before-create alone. When the chaos ends: the faults off, the final
 * syncs, then `syncline push` until it exits 0; then the CRM's contacts against the store's final
 * records of the stream and the destination's external-ID map: missing (a live record without a
 * contact), duplicated (two contacts of one key), stale (a contact whose mapped fields differ),
 * zombie (a contact of a deleted record), unmapped (a contact no map row points at, or a map row
 * pointing at no contact of its key), and dead letters of the destination: each is a difference.
 * The summary ends `destination chaos_crm: 3,012 records, 2,977 contacts, 0 missing, ...; CRM: 41
 * lost responses, 17 5xx, ..., idempotency off`.
 * `--webhooks` (with `--process run`) adds a webhook stream of the customers, `chaos_hooks` (Standard
 * Webhooks signatures, the secret from the environment, `record: data`, hard deletes as
 * `customer.deleted`, `poll` over the REST list with `fetchById`, reconciled every 3 s of a
 * service's life), loaded first by `syncline reconcile chaos_hooks`. A provider in the harness
 * follows the customers' changes feed in process and POSTs each change as a signed event with an id
 * of its own to the service alive now, in order per key, retrying failures and non-2xx answers with
 * backoff; seeded, 5% are never sent and 5% sent twice. When the chaos ends one more service takes
 * the rest, then the final syncs and the reconciliation. Every event answered 2xx must be in the
 * inbox (`readInbox`) once, nothing else there, the backlog 0, the stream equal to the source, and
 * the reconciliations after the load must have repaired drift when events were dropped. Runs:
 *   --seed 31 --minutes 1.5 --store sqlite: 9 kills, 3 terms, 19 service processes, 25,756 records, 0 missing, 0 duplicated,
 *   0 stale, 0 wrongly live, ...; webhooks chaos_hooks: 4,484 events sent (236 dropped, 248 redelivered), 4,248 accepted
 *   (249 answered as duplicates), 0 lost, 0 unknown, 0 doubled, backlog 0, drift repaired 982 in 12 reconciliations;
 *   failed attempts: 380 unanswered
 *   --seed 31 --minutes 1.5 --store postgres: 9 kills, 3 terms, 19 service processes, 25,754 records, 0 missing,
 *   0 duplicated, 0 stale, 0 wrongly live, ...; webhooks chaos_hooks: 4,487 events sent (236 dropped, 248 redelivered),
 *   4,251 accepted (251 answered as duplicates), 0 lost, 0 unknown, 0 doubled, backlog 0, drift repaired 562 in 9
 *   reconciliations; failed attempts: 374 unanswered
 * `--websocket` (with `--process run`) adds a WebSocket stream of live candles, `chaos_ws` (three
 * symbols of 1m, `closed: closed`, `version`, a 250 ms heartbeat timing out after 750 ms, `poll` over
 * the REST candles list of the same interval, incremental with a 2-minute lookback); the candles
 * stay out of the background mutations. During the chaos a candle closes every wall second and the
 * feed drops connections, stalls them silently for 2 s, duplicates frames and closes connections
 * older than 3 s (seeded). When the chaos ends the feed is frozen (no more closes) and its faults
 * off; one more service gap-fills, reads live for 1.5 s and is stopped with SIGTERM. No
 * reconciliation: every closed candle of the subscribed series must be stored with the source's
 * content hash, no row outside them, the REST watermark never back; the forming candle is skipped.
 * Runs:
 *   --seed 41 --minutes 1.5 --store sqlite: 14 kills, 2 terms, 23 service processes, 22,575 records, 0 missing, ...;
 *   websocket chaos_ws: 564 closed candles, 0 missing, 0 stale, 0 unknown; feed: 46 connections, 12 drops, 8 stalls,
 *   82 duplicates, 5 age closes; 66 gap-fill requests
 *   --seed 41 --minutes 1.5 --store postgres: 14 kills, 2 terms, 23 service processes, 22,575 records, 0 missing, ...;
 *   websocket chaos_ws: 561 closed candles, 0 missing, 0 stale, 0 unknown; feed: 37 connections, 10 drops, 6 stalls,
 *   72 duplicates, 3 age closes; 55 gap-fill requests
 * `--workers N` (with `--store postgres`; SQLite is refused) runs a cluster (test/chaos/chaos-workers.ts): N
 * `syncline run` workers at once on the one store schema (each its own API port), each stream's runs a job of the
 * queue they share, over 50 streams (the styles' streams and copies of the incremental `accept` ones over the same
 * customers, 400 of them by default), `service.workerTimeout` 3 s, every stream scheduled every second, the
 * simulator's usual mutations and faults. Every 1.5-5 s (seeded) a worker that joined at least 2 s ago is SIGKILLed
 * (60%) or SIGTERMed (it must exit 0 within the 20 s shutdown timeout) and a replacement started at once. The last
 * 4 s kill nobody; then the mutations stop, the workers (once joined) are stopped with SIGTERM, and the final syncs
 * and reconciliation run as usual before the ground-truth comparison of every stream. Also checked: no two runs of
 * one stream overlap in `syncline_runs` (a killed worker's run left open and closed by the next is listed apart;
 * runs refused by the fence, "lost the lease", are counted: allowed, the data must still be equal); the queue
 * sampled every 200 ms for a `sync:<stream>` key held by two jobs, and for two scheduled jobs of one stream waiting
 * at once; every worker started runs (from its log); `syncline_workers` empty once all stopped.
 * `CHAOS_WORKER_LOGS=<dir>` keeps each worker's log as `<dir>/worker-<n>.log`. Runs:
 *   --workers 3 --seed 5 --minutes 1.5 --store postgres: 9 kills, 9 terms, 21 worker processes, 4,210 records,
 *   0 missing, 0 duplicated, 0 stale, 0 wrongly live, 0 checkpoint regressions, 0 dead letters, ...; workers: 50 streams,
 *   470 runs in all, 319 started by the workers (per worker 6 to 39); 0 overlapping writers, 44 runs left open by
 *   killed workers, 0 fencing refusals; 397 queue samples: 0 duplicate job keys, 0 with two scheduled jobs waiting;
 *   0 workers left registered; copies: 25,821 records, 0 missing, ... (slowest exit after SIGTERM 2.2 s)
 *   --workers 4 --seed 6 --minutes 1.5 --store postgres: 8 kills, 4 terms, 16 worker processes, 3,911 records, 0 missing,
 *   ...; 50 streams, 301 runs in all, 150 started by the workers (per worker 5 to 25); 0 overlapping writers, 44 runs
 *   left open by killed workers, 1 fencing refusal; 330 queue samples: 0 duplicate job keys; 0 workers left registered
 *   (a run before the start-heartbeat fix below: its fencing refusal was a replacement taken for dead as it started)
 * On a 2-core machine under a load of 10-20 (runs take seconds each, and a worker whose heartbeat is starved past
 * the 3 s timeout is taken for dead now and then: its runs stop, it joins again). Which worker has joined when a
 * victim is drawn depends on timing, so one seed's kills and terms vary from run to run. The chaos found that
 * another store's queue install (any schema of the database) stopped every worker's job runners, and that a
 * worker starting slower than its timeout was taken for dead with its first jobs under way.
 * Prints one summary line; exits 1 on any difference, naming the first differing keys.
 * `--brokers` runs the broker chaos instead (test/chaos/chaos-brokers.ts, on --store, for --minutes):
 * Debezium events into NATS JetStream and Redis Streams while `syncline sync` processes (the built
 * CLI) are SIGKILLed; each table against the producer, and both consumers left with nothing. Runs:
 *   --brokers --seed 5 --minutes 1 --store postgres: 40 sync processes, 24 SIGKILLed; nats and redis each 7,776
 *   events (342 repeated, 694 tombstones), 0 missing, 0 stale, 0 zombie, 0 duplicated, 0 unacknowledged
 *   --brokers --seed 6 --minutes 1 --store sqlite: 44 sync processes, 28 SIGKILLed; each 8,000 events, the same zeros
 */
import { parseArgs } from 'node:util';
import { runCdcChaos } from './chaos-cdc.ts';
import { CHAOS_STYLES, type ChaosStyle, EXTRA_STYLES } from './chaos-config.ts';
import { runFileChaos } from './chaos-files.ts';
import { runChaos } from './chaos-harness.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '1' },
    store: { type: 'string', default: 'sqlite' },
    style: { type: 'string', default: 'all' },
    records: { type: 'string' },
    regress: { type: 'string', default: '0.3' },
    process: { type: 'string', default: 'sync' },
    sinks: { type: 'boolean', default: false },
    destination: { type: 'boolean', default: false },
    webhooks: { type: 'boolean', default: false },
    websocket: { type: 'boolean', default: false },
    cdc: { type: 'boolean', default: false },
    brokers: { type: 'boolean', default: false },
    files: { type: 'boolean', default: false },
    workers: { type: 'string' },
    'crm-idempotency': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}

const seed = Number(values.seed);
const minutes = Number(values.minutes);
const records = values.records === undefined ? undefined : Number(values.records);
const regressWeight = Number(values.regress);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, got "${values.seed}"`);
if (!(minutes > 0)) fail(`--minutes must be a positive number, got "${values.minutes}"`);
if (records !== undefined && (!Number.isInteger(records) || records < 1))
  fail(`--records must be a positive integer, got "${values.records}"`);
if (!(regressWeight >= 0)) fail(`--regress must be a non-negative number, got "${values.regress}"`);
if (values.store !== 'sqlite' && values.store !== 'postgres')
  fail(`--store must be sqlite or postgres, got "${values.store}"`);
if (values.process !== 'sync' && values.process !== 'run')
  fail(`--process must be sync or run, got "${values.process}"`);
if (values.sinks && values.process !== 'run')
  fail('--sinks needs --process run (the service delivers the sinks)');
if (values.destination && values.process !== 'run')
  fail('--destination needs --process run (the service runs the destination)');
if (values.webhooks && values.process !== 'run')
  fail('--webhooks needs --process run (the service receives the webhooks)');
if (values.websocket && values.process !== 'run')
  fail('--websocket needs --process run (the service keeps the feed open)');
const workers = values.workers === undefined ? undefined : Number(values.workers);
if (workers !== undefined && !(Number.isInteger(workers) && workers >= 2))
  fail(`--workers must be an integer of 2 or more, got "${values.workers}"`);
if (workers !== undefined && values.store !== 'postgres')
  fail(
    '--workers needs --store postgres: a cluster of workers shares a PostgreSQL store (SQLite runs one process)',
  );
if (workers !== undefined && (values.sinks || values.destination || values.webhooks || values.websocket))
  fail('--workers runs without --sinks, --destination, --webhooks and --websocket');
const crmIdempotency = values['crm-idempotency'];
if (crmIdempotency !== undefined && crmIdempotency !== 'on' && crmIdempotency !== 'off')
  fail(`--crm-idempotency must be on or off, got "${crmIdempotency}"`);
if (crmIdempotency !== undefined && !values.destination) fail('--crm-idempotency needs --destination');
if (values.cdc) {
  // Change data capture has a chaos of its own: a private cluster, a writer, and killed syncs.
  const cdc = await runCdcChaos({
    seed,
    minutes,
    store: values.store,
    process: values.process,
    verbose: values.verbose,
  });
  process.stdout.write(`${cdc.summary}\n`);
  process.exit(cdc.ok ? 0 : 1);
}
if (values.brokers) {
  const { describeBrokerChaos, runBrokerChaos } = await import('./chaos-brokers.ts');
  const summary = await runBrokerChaos({ seed, durationMs: minutes * 60_000, store: values.store });
  process.stdout.write(`${describeBrokerChaos(summary)}\n`);
  const bad = summary.results.some(
    (r) => r.missing + r.stale + r.zombie + r.duplicated + r.deadLetters + r.unacked + r.undelivered > 0,
  );
  process.exit(bad ? 1 : 0);
}
if (values.files) {
  const report = await runFileChaos({
    seed,
    durationMs: minutes * 60_000,
    store: values.store,
    ...(values.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  process.stdout.write(`${report.summary}\n`);
  for (const difference of report.differences.slice(0, 12))
    process.stdout.write(`  differs: ${difference}\n`);
  process.exit(report.ok ? 0 : 1);
}
const styles: readonly ChaosStyle[] =
  values.style === 'all'
    ? CHAOS_STYLES
    : (values.style.split(',').map((s) => {
        const known: readonly string[] = [...CHAOS_STYLES, ...EXTRA_STYLES];
        if (!known.includes(s)) fail(`--style must be one of ${known.join(', ')} or all, got "${s}"`);
        return s as ChaosStyle;
      }) as ChaosStyle[]);

const report = await runChaos({
  seed,
  durationMs: minutes * 60_000,
  store: values.store,
  styles,
  ...(records !== undefined ? { records } : {}),
  regressWeight,
  process: values.process,
  sinks: values.sinks,
  destination: values.destination,
  webhooks: values.webhooks,
  websocket: values.websocket,
  ...(workers !== undefined ? { workers } : {}),
  ...(crmIdempotency !== undefined ? { crmIdempotency: crmIdempotency === 'on' } : {}),
  ...(values.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
});
process.stdout.write(`${report.summary}\n`);
for (const problem of report.problems) process.stdout.write(`  problem: ${problem}\n`);
for (const difference of report.differences.slice(0, 12)) process.stdout.write(`  differs: ${difference}\n`);
process.exit(report.ok ? 0 : 1);
