import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { contentHash } from '../../src/core/canonical-json.ts';
import { sinkConsumer } from '../../src/core/sink.ts';
import type { Store } from '../../src/core/store.ts';
import type { Json, RunRecord, StoredDeadLetter } from '../../src/core/types.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import {
  CRM_FAULTS_OFF,
  type GroundTruthEntry,
  type SimulatorServer,
  startSimulator,
} from '../../src/simulator/index.ts';
import { compareCursorText, cursorTimeMs } from '../../src/sources/http/cursor-format.ts';
import { diffWithGroundTruth } from '../helpers/ground-truth.ts';
import { freshLocation } from '../helpers/stores.ts';
import {
  CHANGES_FEED_STYLES,
  CHAOS_STYLES,
  type ChaosStyle,
  chaosConfigYaml,
  FEED_STYLES,
  INCREMENTAL_STYLES,
  LOOKBACK_MS,
  REGRESSION_POLICY,
  streamName,
} from './chaos-config.ts';
import {
  CRM_TOKEN_ENV,
  checkDestination,
  crmChaosFaults,
  crmToken,
  type DestinationCheck,
  destinationBad,
  destinationConfig,
  destinationSummary,
  idempotencyForSeed,
} from './chaos-destination.ts';
import { ChaosRandom, nextCycle } from './chaos-schedule.ts';
import {
  checkSink,
  readWholeLog,
  type SinkCheck,
  type SinkObserver,
  sinkObservers,
  wantedRows,
} from './chaos-sinks.ts';
import {
  checkWebhooks,
  startProvider,
  WEBHOOK_SECRET_ENV,
  WEBHOOK_STREAM,
  type WebhookCheck,
  type WebhookProvider,
  webhookSecret,
  webhookStreamConfig,
  webhooksBad,
  webhooksSummary,
} from './chaos-webhooks.ts';
import {
  checkWebSocket,
  type WebSocketCheck,
  WS_CANDLES,
  WS_CHAOS_FEED,
  WS_FEED_FROZEN,
  WS_STREAM,
  webSocketBad,
  webSocketStreamConfig,
  webSocketSummary,
} from './chaos-websocket.ts';
import {
  checkWorkers,
  runWorkerChaos,
  streamCopies,
  WORKER_RECORDS,
  type WorkerChaosRun,
  type WorkerCheck,
  workersBad,
  workersConfigYaml,
  workersSummary,
} from './chaos-workers.ts';

const BIN = resolve(import.meta.dirname, '../../bin/syncline.mjs');

/** How long past its duration a chaos run goes on to reach `minKills`. */
const MIN_KILLS_GRACE_MS = 60_000;

export interface ChaosOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly store: 'sqlite' | 'postgres';
  readonly styles?: readonly ChaosStyle[];
  /** Customers at the start. Default 3000 (`workers`: `WORKER_RECORDS`, as every stream loads them). */
  readonly records?: number;
  readonly pageSize?: number;
  /**
   * Weight of version regressions (`regress`) in the simulator's mutation mix (the other kinds
   * weigh 10.2 together). Default 0.3; 0 gives the mix of runs before regressions existed.
   */
  readonly regressWeight?: number;
  /** Progress lines (one per cycle). */
  readonly log?: (line: string) => void;
  /**
   * The process that is killed: `sync` (one pass per process, the default) or `run` (the service,
   * every stream scheduled every second, killed or stopped while its runs overlap).
   */
  readonly process?: 'sync' | 'run';
  /**
   * With `process: 'run'`: the config also has sinks (a webhook to a verifying receiver that fails
   * now and then, a Redis stream per stream), delivered by the killed services; at the end each
   * must have received every change-log row at least once, nothing else, and in seq order.
   */
  readonly sinks?: boolean;
  /**
   * With `process: 'run'`: the services also run a destination (mode mirror) of the first
   * `accept` stream into the simulator's CRM, which loses answers of writes it applied, fails and
   * resets now and then during the chaos; at the end `syncline push` must leave every live record
   * exactly one up-to-date contact, deleted records none, and the external-ID map pointing at them.
   */
  readonly destination?: boolean;
  /** The CRM honours `Idempotency-Key` (`destination: true`). Default: by seed (`idempotencyForSeed`). */
  readonly crmIdempotency?: boolean;
  /**
   * With `process: 'run'`: the config also has a webhook stream of the customers (`chaos_hooks`),
   * which a provider in the harness feeds with signed events of every change, dropping 5% and
   * redelivering 5%, retrying into the killed services; its reconciliations over REST are the
   * safety net. At the end every event answered 2xx must be in the inbox once, all of it applied,
   * the stream equal to the source, and the reconciliations must have found drift.
   */
  readonly webhooks?: boolean;
  /**
   * With `process: 'run'`: the config also has a WebSocket stream of live candles (`chaos_ws`),
   * gap-filled over REST, while the simulator's feed drops, stalls and duplicates frames (the
   * candles out of the background mutations). At the end, the feed frozen and its faults off, one
   * more service gap-fills and reads live a little; then every closed candle of the subscribed
   * series must be stored with the source's content, and nothing outside them. Never reconciled.
   */
  readonly websocket?: boolean;
  /**
   * A cluster (PostgreSQL only): this many `syncline run` workers at once on the store, over
   * `WORKER_STREAMS` streams (the styles' and copies), with a short worker timeout; at seeded
   * moments one is SIGKILLed or SIGTERMed and replaced. Besides the ground truth: no two writers on
   * one stream, one job per stream in the queue, every worker ran runs, none left registered.
   */
  readonly workers?: number;
  /**
   * SIGKILLs the chaos must have dealt: it goes on past `durationMs` (for up to a minute more) until
   * it has, so a loaded machine (fewer, slower cycles) does not end it with fewer than a test asks
   * for. Default 0. Not with `workers` (its own schedule).
   */
  readonly minKills?: number;
}

export interface ChaosReport {
  readonly ok: boolean;
  /** The one-line summary. */
  readonly summary: string;
  readonly cycles: number;
  readonly kills: number;
  readonly terms: number;
  readonly records: number;
  readonly missing: number;
  readonly duplicated: number;
  readonly stale: number;
  readonly notDeleted: number;
  readonly extra: number;
  /** Checkpoint watermarks that moved backwards. */
  readonly regressions: number;
  /** Dead letters that should not exist: any in an `accept` stream, any but regressions otherwise. */
  readonly deadLetters: number;
  /** Version regressions the simulator made (`regress` mutations applied). */
  readonly versionRegressions: number;
  /** Version drops applied by the `accept` streams (read from the change log), summed over them. */
  readonly regressionsAccepted: number;
  /** Rolled-back records (key and content) dead-lettered by the `deadLetter` streams, summed over them. */
  readonly regressionsDeadLettered: number;
  /** Keys of `deadLetter` streams that end rolled back at the source and held back locally. */
  readonly heldBack: number;
  /** Failures of the final clean sync, or of a process that should have finished. */
  readonly problems: string[];
  /** The first differing keys, with source and local versions. */
  readonly differences: string[];
  /** Per sink (`sinks: true`): what its consumer received against the change log. */
  readonly sinks: readonly SinkCheck[];
  /** The CRM against the store (`destination: true`), else null. */
  readonly destination: DestinationCheck | null;
  /** The webhook stream's inbox against what the provider sent (`webhooks: true`), else null. */
  readonly webhooks: WebhookCheck | null;
  /** The WebSocket stream's candles against the source's (`websocket: true`), else null. */
  readonly websocket: WebSocketCheck | null;
  /** The cluster's checks (`workers`), else null. */
  readonly workers: WorkerCheck | null;
}

/**
 * One chaos run: the simulator mutates and misbehaves while `syncline sync` runs as a child process
 * that is SIGKILLed or SIGTERMed at seeded random moments; at the end clean syncs and a
 * `syncline reconcile` (which repairs what no incremental pass can see and finds hard deletes) must
 * leave the store equal to the simulator's ground truth, with checkpoints that never moved backwards.
 *
 * The source also rolls records back (version regressions). Streams with `onVersionRegression:
 * 'accept'` apply them (counted from the change log) and must end equal to the source with no dead
 * letters; the `deadLetter` streams (`REGRESSION_POLICY`) must never apply one, and may differ from
 * the source only where the source rolled a record back: the row keeps its higher version and the
 * key's newest dead letter is that regression, holding the source's current record.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const styles = options.styles ?? CHAOS_STYLES;
  const random = new ChaosRandom(options.seed);
  const log = options.log ?? (() => {});
  if (
    (options.sinks || options.destination || options.webhooks || options.websocket) &&
    options.process !== 'run'
  )
    throw new Error('sinks, destination, webhooks and websocket need process: "run" (the service runs them)');
  if (options.workers !== undefined) {
    if (options.store !== 'postgres') throw new Error('workers: a cluster needs the postgres store');
    if (options.sinks || options.destination || options.webhooks || options.websocket)
      throw new Error(
        'workers: sinks, destination, webhooks and websocket are not part of the cluster chaos',
      );
  }
  const dir = mkdtempSync(join(tmpdir(), 'syncline-chaos-'));
  const destinationStream = options.destination ? destinationStreamOf(styles) : null;
  const crmIdempotency = options.crmIdempotency ?? idempotencyForSeed(options.seed);
  const token = crmToken();
  const { location, drop } = await freshLocation(options.store);
  const sim = await startSimulator({
    seed: options.seed,
    datasets: {
      customers: options.records ?? (options.workers !== undefined ? WORKER_RECORDS : 3000),
      ...(options.websocket ? { candles: WS_CANDLES } : {}),
    },
    faults: {
      rateLimit: 0.03,
      retryAfterSeconds: 0,
      serverError: 0.03,
      reset: 0.02,
      truncated: 0.02,
      malformed: 0.01,
      hang: 0.005,
      hangMs: 4000,
      slow: 0.02,
      slowMs: 150,
    },
    // Every kind of change, hard deletes included (only a reconciliation can see those), and
    // version regressions (records restored from older backups).
    // The candles (`websocket`) stay out: the feed's series are clean only without them.
    mutations: {
      ratePerSecond: 4,
      burstSize: 400,
      mix: { regress: options.regressWeight ?? 0.3 },
      ...(options.websocket ? { datasets: ['customers'] } : {}),
    },
    ...(options.websocket ? { ws: WS_CHAOS_FEED } : {}),
    ...(options.destination ? { crm: { token, idempotency: crmIdempotency } } : {}),
  });
  const daemon = options.process === 'run' || options.workers !== undefined;
  const copies = options.workers !== undefined ? streamCopies(styles) : [];
  let workerRun: WorkerChaosRun | null = null;
  const observers: SinkObserver[] = options.sinks ? sinkObservers(options.seed, styles.map(streamName)) : [];
  const started: SinkObserver[] = [];
  const destinations = destinationStream ? [destinationConfig(sim.url, destinationStream)] : [];
  let delivery: SinkDelivery | undefined;
  const secret = webhookSecret();
  const hooks = [
    ...(options.webhooks ? [webhookStreamConfig(sim.url, options.pageSize ?? 200)] : []),
    ...(options.websocket ? [webSocketStreamConfig(sim.url, options.pageSize ?? 200)] : []),
  ];
  // The final syncs and the reconciliation name the streams when a WebSocket stream is there: its
  // sync never ends by itself, and it must not be reconciled (that would hide a gap-fill bug).
  const finalStreams = options.websocket
    ? [...styles.map(streamName), ...(options.webhooks ? [WEBHOOK_STREAM] : [])]
    : [];
  let provider: WebhookProvider | undefined;
  /** The webhook stream's runs before the chaos (its initial load over REST, not drift). */
  let initialRuns = new Set<string>();
  const problems: string[] = [];
  let kills = 0;
  let terms = 0;
  let cycles = 0;
  try {
    for (const observer of observers) {
      await observer.start();
      started.push(observer);
    }
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      chaosConfigYaml(
        sim.url,
        styles,
        options.pageSize ?? 200,
        daemon ? { every: '1s', jitter: '300ms' } : undefined,
        observers.map((o) => o.config()),
        destinations,
        hooks,
      ),
    );
    if (options.workers !== undefined) {
      const base = readFileSync(join(dir, 'syncline.config.yaml'), 'utf8');
      writeFileSync(join(dir, 'syncline.config.yaml'), workersConfigYaml(base, sim.url, copies));
    }
    const env = Object.assign(
      destinationStream ? { [CRM_TOKEN_ENV]: token } : {},
      options.webhooks ? { [WEBHOOK_SECRET_ENV]: secret } : {},
      ...observers.map((o) => o.env),
    ) as Record<string, string>;
    if (options.webhooks) {
      // The provider follows every change from now on; the records already there are loaded over
      // REST first, as a user starts a webhook stream (its backlog is not the provider's to send).
      provider = startProvider({ seed: options.seed, sim, secret, log });
      await finalSync(dir, location, problems, 'initial load of the webhook stream', 'reconcile', env, [
        WEBHOOK_STREAM,
      ]);
      const store = await openStore(location);
      try {
        initialRuns = new Set(
          (await store.listRuns({ stream: WEBHOOK_STREAM, limit: 1000 })).map((r) => r.runId),
        );
      } finally {
        await store.close();
      }
    }
    const listening = provider ? [provider.serviceListening] : [];
    if (destinationStream) {
      const faults = crmChaosFaults(options.seed);
      sim.crm.configure({ faults });
      log(`crm: idempotency ${crmIdempotency ? 'on' : 'off'}, faults ${JSON.stringify(faults)}`);
    }
    const end = Date.now() + options.durationMs;
    if (options.workers !== undefined) {
      workerRun = await runWorkerChaos({
        workers: options.workers,
        durationMs: options.durationMs,
        random,
        sim,
        location,
        spawn: () => {
          const child = spawnService(dir, location, env);
          return { child, exit: waitExit(child) };
        },
        log,
      });
      kills = workerRun.kills;
      terms = workerRun.terms;
      cycles = workerRun.processes;
    }
    const goOn = () =>
      Date.now() < end || (kills < (options.minKills ?? 0) && Date.now() < end + MIN_KILLS_GRACE_MS);
    while (options.workers === undefined && goOn()) {
      const { mutations, action } = nextCycle(random, daemon);
      sim.mutate(mutations);
      const child = daemon
        ? spawnService(dir, location, env, observers, undefined, listening)
        : spawnSync(dir, location);
      const exit = waitExit(child);
      if (daemon && action.kind === 'finish') {
        // The service never finishes on its own: let it run a few schedules, then stop it.
        const done = await Promise.race([exit.then(() => true), sleep(action.afterMs).then(() => false)]);
        if (!done) child.kill('SIGTERM');
      } else if (action.kind !== 'finish') {
        const done = await Promise.race([exit.then(() => true), sleep(action.afterMs).then(() => false)]);
        if (!done) {
          child.kill(action.kind === 'kill' ? 'SIGKILL' : 'SIGTERM');
          if (action.kind === 'kill') kills++;
          else terms++;
        }
      }
      const result = await withTimeout(exit, 60_000, () => child.kill('SIGKILL'));
      cycles++;
      for (const line of result.sinkTrouble) problems.push(`cycle ${cycles}: ${line.slice(0, 300)}`);
      // Exit 143 after the page in progress; killed by the signal itself only outside a sync (start-up,
      // after the last run), where there is nothing to finish.
      if (action.kind === 'term' && ![0, 143].includes(result.code ?? -1) && result.signal !== 'SIGTERM') {
        problems.push(`cycle ${cycles}: SIGTERM ended with exit ${result.code}: ${lastLine(result.stderr)}`);
      }
      // A service stopped while Node was still loading it dies of the signal itself: nothing ran yet.
      const startupTerm = daemon && result.signal === 'SIGTERM';
      if (action.kind === 'finish' && result.code !== 0 && !startupTerm) {
        problems.push(
          `cycle ${cycles}: a ${daemon ? 'service stopped by SIGTERM' : 'sync left alone'} exited ${result.code}: ${lastLine(result.stderr)}`,
        );
      }
      log(
        `cycle ${cycles}: ${mutations} mutations, ${action.kind}${'afterMs' in action ? ` after ${action.afterMs} ms` : ''} -> ${result.signal ?? result.code}${
          options.log && observers.length > 0
            ? `; sink offsets ${await sinkOffsets(location, observers)}`
            : ''
        }`,
      );
    }
    // The end: no more changes; a clean sync must finish through the faults.
    sim.setMutations({ ratePerSecond: 0 });
    if (destinationStream) sim.crm.configure({ faults: CRM_FAULTS_OFF });
    if (provider) await drainProvider(dir, location, env, provider, problems, log);
    if (options.websocket) await finishWebSocket(dir, location, env, sim, problems, log);
    if (observers.length > 0) {
      // The config of the brief service that lets the sse client catch up at the end: no schedule,
      // so it serves the log without adding to it.
      writeFileSync(
        join(dir, SERVE_CONFIG),
        chaosConfigYaml(
          sim.url,
          styles,
          options.pageSize ?? 200,
          undefined,
          observers.map((o) => o.config()),
          destinations,
          hooks,
        ),
      );
      delivery = deliverTheRest(dir, location, env, observers);
    }
    await sleep(1100); // past the safety lag, so the watermark may reach the newest change
    await finalSync(dir, location, problems, 'final sync', 'sync', env, finalStreams);
    const store = await openStore(location);
    try {
      // One clean run must bring an incremental stream up to date within its window...
      const before = await incrementalMisses(store, sim, styles);
      // ...while a full-refresh stream whose run only completed a pass begun before the source
      // stopped changing needs one more run: its next pass walks everything again.
      await finalSync(dir, location, problems, 'second final sync', 'sync', env, finalStreams);
      // The reconciliation: a full scan per stream that repairs what no incremental pass can see
      // (changes that kept an old updated_at) and soft-deletes what the source hard-deleted.
      await finalSync(dir, location, problems, 'reconciliation', 'reconcile', env, finalStreams);
      const sinks = (await delivery?.finish(store, problems, log)) ?? [];
      let destination: DestinationCheck | null = null;
      if (destinationStream) {
        await pushUntilCaughtUp(dir, location, problems, env, log);
        destination = await checkDestination(store, sim, destinationStream, crmIdempotency);
      }
      const webhooks = provider ? await checkWebhooks(store, provider.stats(), initialRuns) : null;
      const websocket = options.websocket ? await checkWebSocket(store, sim) : null;
      const workers = workerRun
        ? await checkWorkers(
            store,
            sim,
            [...styles.map(streamName), ...copies.map((c) => c.name)],
            copies,
            workerRun,
          )
        : null;
      return await compare(store, sim, styles, options, {
        kills,
        terms,
        cycles,
        problems,
        before,
        sinks,
        destination,
        webhooks,
        websocket,
        workers,
      });
    } finally {
      await store.close();
    }
  } finally {
    delivery?.kill();
    await provider?.stop();
    for (const observer of started) await observer.stop().catch(() => undefined);
    await sim.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Tally {
  kills: number;
  terms: number;
  cycles: number;
  problems: string[];
  before: { missing: number; stale: number; notDeleted: number; differences: string[] };
  sinks: readonly SinkCheck[];
  destination: DestinationCheck | null;
  webhooks: WebhookCheck | null;
  websocket: WebSocketCheck | null;
  workers: WorkerCheck | null;
}

/** How long the provider may take to deliver what it holds once the chaos ended. */
const PROVIDER_DRAIN_MS = 120_000;

/**
 * The end of a webhooks run: one more service (left alone) takes what the provider still holds,
 * then stops on SIGTERM; the provider stops too, so the final syncs apply a complete inbox.
 */
async function drainProvider(
  dir: string,
  location: string,
  env: Readonly<Record<string, string>>,
  provider: WebhookProvider,
  problems: string[],
  say: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const child = spawnService(dir, location, env, [], undefined, [provider.serviceListening]);
  const exit = waitExit(child);
  const drained = await provider.drain(PROVIDER_DRAIN_MS);
  child.kill('SIGTERM');
  const result = await withTimeout(exit, 30_000, () => child.kill('SIGKILL'));
  await provider.stop();
  say(`webhooks: provider drained ${drained ? '' : 'NOT '}in ${Date.now() - started} ms`);
  if (!drained) {
    problems.push(
      `the webhook provider still held ${provider.stats().pending} events ${PROVIDER_DRAIN_MS / 1000} s after the chaos`,
    );
  }
  if (result.code !== 0 && result.signal !== 'SIGTERM') {
    problems.push(`the service taking the last webhooks exited ${result.code}: ${lastLine(result.stderr)}`);
  }
}

/** How long the last service of a websocket run may take to log its first gap-fill. */
const WS_GAP_FILL_MS = 60_000;
/** How long it reads live after that gap-fill before it is stopped. */
const WS_LIVE_MS = 1500;

/**
 * The end of a websocket run: the feed frozen (no candle closes any more) and its faults off, one
 * more service connects, gap-fills from the checkpoint the killed ones left and reads live a
 * little; then it is stopped with SIGTERM (a websocket run never ends by itself). No
 * reconciliation follows: the store must already hold every closed candle.
 */
async function finishWebSocket(
  dir: string,
  location: string,
  env: Readonly<Record<string, string>>,
  sim: SimulatorServer,
  problems: string[],
  say: (line: string) => void,
): Promise<void> {
  sim.setWs(WS_FEED_FROZEN);
  const started = Date.now();
  const child = spawnService(dir, location, env);
  const exit = waitExit(child);
  let partial = '';
  const gapFilled = new Promise<boolean>((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), WS_GAP_FILL_MS);
    child.stderr?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('"msg":"websocket gap-fill done"') && line.includes(`"stream":"${WS_STREAM}"`)) {
          clearTimeout(timer);
          resolvePromise(true);
        }
      }
    });
    void exit.then(() => {
      clearTimeout(timer);
      resolvePromise(false);
    });
  });
  const filled = await gapFilled;
  if (filled) await sleep(WS_LIVE_MS);
  child.kill('SIGTERM');
  const result = await withTimeout(exit, 30_000, () => child.kill('SIGKILL'));
  say(
    `websocket: last service ${filled ? 'gap-filled' : 'did NOT gap-fill'}, stopped ${Date.now() - started} ms after it started`,
  );
  if (!filled) {
    problems.push(
      `the last service of the websocket run logged no gap-fill of ${WS_STREAM} within ${WS_GAP_FILL_MS / 1000} s: ${lastLine(result.stderr)}`,
    );
  }
  if (result.code !== 0 && result.signal !== 'SIGTERM') {
    problems.push(`the last service of the websocket run exited ${result.code}: ${lastLine(result.stderr)}`);
  }
}

/** The stream a destination run pushes: the first that applies regressions (it must equal the source). */
function destinationStreamOf(styles: readonly ChaosStyle[]): string {
  const style = styles.find((s) => REGRESSION_POLICY[s] === 'accept');
  if (!style) throw new Error('destination: true needs a style whose stream accepts version regressions');
  return streamName(style);
}

/** How many `syncline push` passes the end of a destination run may take to catch up. */
const PUSH_ATTEMPTS = 5;

/**
 * The end of a destination run: `syncline push` (the CRM's faults off) until it exits 0, every
 * destination caught up with the log the final syncs left.
 */
async function pushUntilCaughtUp(
  dir: string,
  location: string,
  problems: string[],
  env: Readonly<Record<string, string>>,
  say: (line: string) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const result = await runCli(['push', '--store', location], dir, 180_000, env);
    say(`push ${attempt}: exit ${result.signal ?? result.code} after ${Date.now() - started} ms`);
    for (const line of result.sinkTrouble) problems.push(`syncline push: ${line.slice(0, 300)}`);
    if (result.code === 0) return;
    if (attempt === PUSH_ATTEMPTS) {
      problems.push(
        `syncline push exited ${result.signal ?? result.code} ${attempt} times: ${lastLine(result.stderr)}`,
      );
      return;
    }
  }
}

/** Each sink's offset and the log's newest seq, for the progress lines. */
async function sinkOffsets(location: string, observers: readonly SinkObserver[]): Promise<string> {
  const store = await openStore(location);
  try {
    const newest = (await readWholeLog(store)).at(-1)?.seq ?? 0;
    const offsets = await Promise.all(
      observers.map(async (o) =>
        o.position
          ? `${o.name} ${o.position()}`
          : `${o.name} ${(await store.consumerOffset(sinkConsumer(o.name)))?.seq ?? '-'}`,
      ),
    );
    return `${offsets.join(', ')} of ${newest}`;
  } finally {
    await store.close();
  }
}

/** How long the sinks may take to deliver the rest of the log after the last sync. */
const SINK_CATCH_UP_MS = 180_000;

/** The config (no schedule) of the `syncline run` that serves the sse client the end of the log. */
const SERVE_CONFIG = 'syncline.serve.yaml';

/** The `syncline sinks run` of the end of a `sinks` run. */
interface SinkDelivery {
  /**
   * Once the final syncs ended: waits (bounded) until every sink's offset in `syncline_consumers`
   * reaches the log's newest seq, stops the process with SIGTERM; then, for the sinks `syncline
   * run` serves (sse), starts one without a schedule until their clients received the log's newest
   * seq they select; and checks each sink's consumer against the whole log.
   */
  finish(store: Store, problems: string[], say: (line: string) => void): Promise<SinkCheck[]>;
  /** SIGKILLs the processes if they still run (a run that failed before `finish`). */
  kill(): void;
}

/**
 * The end of a `sinks` run: `syncline sinks run` delivers what the killed services left, started
 * when the chaos ends, so it delivers beside the final syncs (another process committing, as a
 * deployment with a separate delivery process has) and the changes they add. It serves no sse
 * client: a brief `syncline run` does, after it.
 */
function deliverTheRest(
  dir: string,
  location: string,
  env: Readonly<Record<string, string>>,
  observers: readonly SinkObserver[],
): SinkDelivery {
  const offsetted = observers.filter((o) => !o.servedByService);
  const served = observers.filter((o) => o.servedByService);
  const child = spawnCli(['sinks', 'run', '--store', location], dir, env);
  const exit = waitExit(child);
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  let service: { child: ChildProcess; exited: boolean } | null = null;
  return {
    kill: () => {
      if (!exited) child.kill('SIGKILL');
      if (service && !service.exited) service.child.kill('SIGKILL');
    },
    async finish(store, problems, say) {
      const log = await readWholeLog(store);
      const last = log.at(-1)?.seq ?? 0;
      const deadline = Date.now() + SINK_CATCH_UP_MS;
      const offsets = async () =>
        Promise.all(offsetted.map(async (o) => (await store.consumerOffset(sinkConsumer(o.name)))?.seq ?? 0));
      let behind = await offsets();
      const startedAt = Date.now();
      say(`sinks: offsets ${behind.join(', ')} of ${last} when the last sync ended`);
      while (behind.some((seq) => seq < last) && Date.now() < deadline && !exited) {
        await sleep(250);
        behind = await offsets();
      }
      say(`sinks: offsets ${behind.join(', ')} of ${last} ${Date.now() - startedAt} ms later`);
      child.kill('SIGTERM');
      const result = await withTimeout(exit, 30_000, () => child.kill('SIGKILL'));
      if (result.code !== 0) {
        problems.push(
          `syncline sinks run exited ${result.signal ?? result.code}: ${lastLine(result.stderr)}`,
        );
      }
      for (const line of result.sinkTrouble) problems.push(`syncline sinks run: ${line.slice(0, 300)}`);
      offsetted.forEach((o, i) => {
        if (behind[i]! < last) {
          problems.push(
            `sink ${o.name} did not catch up: offset ${behind[i]} of ${last}, ${SINK_CATCH_UP_MS / 1000} s after the last sync`,
          );
        }
      });
      if (served.length > 0) {
        const targets = served.map((o) => wantedRows(o.config(), log).at(-1)?.seq ?? 0);
        const positions = () => served.map((o) => o.position?.() ?? 0);
        const serveStart = Date.now();
        const serving = spawnService(dir, location, env, served, SERVE_CONFIG);
        const serveExit = waitExit(serving);
        service = { child: serving, exited: false };
        const current = service;
        void serveExit.then(() => {
          current.exited = true;
        });
        while (positions().some((p, i) => p < targets[i]!) && Date.now() < deadline && !current.exited) {
          await sleep(100);
        }
        say(
          `sinks: ${served.map((o, i) => `${o.name} at ${positions()[i]} of ${targets[i]}`).join(', ')} ${Date.now() - serveStart} ms after a service started for them`,
        );
        serving.kill('SIGTERM');
        const ended = await withTimeout(serveExit, 30_000, () => serving.kill('SIGKILL'));
        if (ended.code !== 0) {
          problems.push(
            `the syncline run serving ${served.map((o) => o.name).join(', ')} at the end exited ${ended.signal ?? ended.code}: ${lastLine(ended.stderr)}`,
          );
        }
        served.forEach((o, i) => {
          if (positions()[i]! < targets[i]!) {
            problems.push(
              `sink ${o.name} did not catch up: its client reached seq ${positions()[i]} of ${targets[i]}`,
            );
          }
        });
      }
      return Promise.all(observers.map((o) => checkSink(o, log)));
    },
  };
}

async function compare(
  store: Store,
  sim: SimulatorServer,
  styles: readonly ChaosStyle[],
  options: ChaosOptions,
  tally: Tally,
): Promise<ChaosReport> {
  let records = 0;
  let missing = tally.before.missing;
  let stale = tally.before.stale;
  let notDeleted = tally.before.notDeleted;
  let extra = 0;
  let duplicated = 0;
  let regressions = 0;
  let deadLetters = 0;
  let accepted = 0;
  let deadLettered = 0;
  let deadLetteredRows = 0;
  let held = 0;
  const differences = [...tally.before.differences];
  const truth = new Map([...sim.groundTruthEntries('customers')].map((e) => [e.key, e]));
  for (const style of styles) {
    const stream = streamName(style);
    let diff: Awaited<ReturnType<typeof diffWithGroundTruth>>;
    try {
      diff = await diffWithGroundTruth(store, stream, sim, 'customers', { hardDeletes: true });
    } catch (error) {
      duplicated++;
      differences.push(`${stream}: ${(error as Error).message}`);
      continue;
    }
    // A sink's or destination's letters (`sink` set) are theirs, checked with them.
    const letters = (await store.listDeadLetters({ stream, limit: 100_000, all: true })).filter(
      (letter) => letter.sink === undefined,
    );
    const drops = await versionDrops(store, stream);
    if (REGRESSION_POLICY[style] === 'accept') {
      accepted += drops;
      deadLetters += letters.length;
    } else {
      // The source's rollbacks stay out: the row keeps its higher version, the dead letter holds
      // the rolled-back record. Such keys differ from the ground truth on purpose.
      const kept = await heldBack(store, stream, [...diff.stale, ...diff.notDeleted], truth);
      held += kept.size;
      diff = {
        ...diff,
        stale: diff.stale.filter((key) => !kept.has(key)),
        notDeleted: diff.notDeleted.filter((key) => !kept.has(key)),
      };
      const regressed = letters.filter((letter) => REGRESSION_REASON.test(letter.reason));
      // Each run that reads a rolled-back record dead-letters it again: count records, not letters.
      deadLettered += new Set(regressed.map((letter) => `${letter.key} ${letter.payload}`)).size;
      deadLetteredRows += regressed.reduce((sum, letter) => sum + letter.occurrences, 0);
      deadLetters += letters.length - regressed.length;
      if (drops > 0) {
        tally.problems.push(
          `${stream}: applied ${drops} version regressions with onVersionRegression: deadLetter`,
        );
      }
    }
    for (const letter of letters.slice(0, 2)) {
      if (REGRESSION_POLICY[style] === 'accept' || !REGRESSION_REASON.test(letter.reason))
        differences.push(`${stream} dead letter ${letter.key}: ${letter.reason}`);
    }
    records += diff.local;
    missing += diff.missing.length;
    stale += diff.stale.length;
    notDeleted += diff.notDeleted.length;
    extra += diff.extra.length;
    for (const key of [...diff.missing, ...diff.stale, ...diff.notDeleted, ...diff.extra].slice(0, 3)) {
      differences.push(`${stream} ${key}: ${await describeKey(store, stream, key, truth.get(key))}`);
    }
    const runs = (await store.listRuns({ stream, limit: 100_000 })).reverse();
    regressions += checkpointRegressions(runs, differences, stream);
    if (CHANGES_FEED_STYLES.has(style)) regressions += tokenRegressions(runs, differences, stream);
  }
  if (tally.webhooks) {
    const diff = await diffWithGroundTruth(store, WEBHOOK_STREAM, sim, 'customers', { hardDeletes: true });
    const letters = (
      await store.listDeadLetters({ stream: WEBHOOK_STREAM, limit: 100_000, all: true })
    ).filter((letter) => letter.sink === undefined);
    deadLetters += letters.length;
    for (const letter of letters.slice(0, 2))
      differences.push(`${WEBHOOK_STREAM} dead letter ${letter.key}: ${letter.reason}`);
    accepted += await versionDrops(store, WEBHOOK_STREAM);
    records += diff.local;
    missing += diff.missing.length;
    stale += diff.stale.length;
    notDeleted += diff.notDeleted.length;
    extra += diff.extra.length;
    for (const key of [...diff.missing, ...diff.stale, ...diff.notDeleted, ...diff.extra].slice(0, 3)) {
      differences.push(
        `${WEBHOOK_STREAM} ${key}: ${await describeKey(store, WEBHOOK_STREAM, key, truth.get(key))}`,
      );
    }
    differences.push(...tally.webhooks.differences);
  }
  const made = sim.stats().mutations.regress;
  const sinkBad = tally.sinks.reduce((sum, s) => sum + s.missing + s.unknown + s.invalid + s.outOfOrder, 0);
  for (const sink of tally.sinks) differences.push(...sink.differences);
  const destinationDiffers = tally.destination ? destinationBad(tally.destination) : 0;
  const webhooksDiffer = tally.webhooks ? webhooksBad(tally.webhooks) : 0;
  const websocketDiffers = tally.websocket ? webSocketBad(tally.websocket) : 0;
  const workersDiffer = tally.workers ? workersBad(tally.workers) : 0;
  if (tally.workers) {
    differences.push(...tally.workers.differences, ...tally.workers.overlaps.slice(0, 6));
    tally.problems.push(...tally.workers.run.problems);
  }
  if (tally.websocket) {
    differences.push(...tally.websocket.differences);
    // Its REST part (`{ poll: ... }`) is the only resume point: its watermark must never go back.
    const rest = (c: Json): Json => (c as { poll?: Json } | null)?.poll ?? null;
    const runs = (await store.listRuns({ stream: WS_STREAM, limit: 100_000 })).reverse();
    regressions += checkpointRegressions(
      runs.map((r) => ({
        ...r,
        checkpointBefore: rest(r.checkpointBefore),
        checkpointAfter: rest(r.checkpointAfter),
      })),
      differences,
      WS_STREAM,
    );
  }
  if (tally.destination) differences.push(...tally.destination.differences);
  const bad =
    missing +
    duplicated +
    stale +
    notDeleted +
    extra +
    regressions +
    deadLetters +
    sinkBad +
    destinationDiffers +
    webhooksDiffer +
    websocketDiffers +
    workersDiffer +
    tally.problems.length;
  const n = (x: number) => x.toLocaleString('en-US');
  const summary =
    `chaos seed=${options.seed} store=${options.store}${options.process === 'run' ? ' process=run' : ''}${options.workers !== undefined ? ` workers=${options.workers}` : ''} style=${styles.length === CHAOS_STYLES.length ? 'all' : styles.join(',')}: ` +
    `${n(tally.kills)} kills, ${n(tally.terms)} terms, ${n(tally.cycles)} ${options.workers !== undefined ? 'worker processes' : options.process === 'run' ? 'service processes' : 'runs'}, ${n(records)} records, ${n(missing)} missing, ` +
    `${n(duplicated)} duplicated, ${n(stale)} stale, ${n(notDeleted + extra)} wrongly live, ` +
    `${n(regressions)} checkpoint regressions, ${n(deadLetters)} dead letters; ` +
    `${n(made)} version regressions at the source: ${n(accepted)} accepted, ${n(deadLettered)} dead-lettered ` +
    `(failing ${n(deadLetteredRows)} times in all), ` +
    `${n(held)} held back at the end` +
    tally.sinks
      .map(
        (s) =>
          `; sink ${s.name}: ${n(s.inLog)} events in the log, ${n(s.received)} received (${n(s.duplicates)} duplicates), ` +
          `${n(s.missing)} missing, ${n(s.unknown)} unknown, ${n(s.outOfOrder)} out of order${s.invalid ? `, ${n(s.invalid)} failing verification` : ''} (${s.notes})`,
      )
      .join('') +
    (tally.destination ? `; ${destinationSummary(tally.destination)}` : '') +
    (tally.webhooks ? `; ${webhooksSummary(tally.webhooks)}` : '') +
    (tally.websocket ? `; ${webSocketSummary(tally.websocket)}` : '') +
    (tally.workers ? `; ${workersSummary(tally.workers)}` : '');
  return {
    ok: bad === 0,
    summary,
    cycles: tally.cycles,
    kills: tally.kills,
    terms: tally.terms,
    records,
    missing,
    duplicated,
    stale,
    notDeleted,
    extra,
    regressions,
    deadLetters,
    versionRegressions: made,
    regressionsAccepted: accepted,
    regressionsDeadLettered: deadLettered,
    heldBack: held,
    problems: tally.problems,
    differences,
    sinks: tally.sinks,
    destination: tally.destination,
    webhooks: tally.webhooks,
    websocket: tally.websocket,
    workers: tally.workers,
  };
}

/**
 * Before the reconciliation: what an incremental stream misses or holds stale although the source
 * record sits inside its window (at or after the watermark minus the lookback) is a bug. Records
 * whose change kept an updated_at older than that are invisible to any incremental reader; the
 * reconciliation must repair them.
 */
async function incrementalMisses(store: Store, sim: SimulatorServer, styles: readonly ChaosStyle[]) {
  const truth = new Map([...sim.groundTruthEntries('customers')].map((e) => [e.key, e]));
  let missing = 0;
  let stale = 0;
  let notDeleted = 0;
  const differences: string[] = [];
  for (const style of styles) {
    const changesFeed = CHANGES_FEED_STYLES.has(style);
    if (!INCREMENTAL_STYLES.has(style) && !changesFeed) continue;
    const stream = streamName(style);
    const state = await store.getState(stream);
    const watermark = (state?.checkpoint as { watermark?: { cursor: string } | null } | null)?.watermark;
    // A changes feed has no window: every record of the source is inside it.
    const from =
      watermark && !changesFeed
        ? (cursorTimeMs(watermark.cursor) ?? 0) - LOOKBACK_MS
        : Number.NEGATIVE_INFINITY;
    // A stream reading the deleted-records feed (or a changes feed, whose deleted rows are
    // tombstones) must have every hard delete before reconciling.
    const feed = FEED_STYLES.has(style) || changesFeed;
    const diff = await diffWithGroundTruth(store, stream, sim, 'customers', { hardDeletes: feed });
    const liveHardDeletes = feed
      ? diff.notDeleted.filter((key) => truth.get(key)?.status === 'hard_deleted')
      : [];
    notDeleted += liveHardDeletes.length;
    for (const key of liveHardDeletes.slice(0, Math.max(0, 6 - differences.length))) {
      differences.push(`${stream} ${key}: deleted at the source, live locally before reconciliation`);
    }
    // A deadLetter stream holds the source's rollbacks back on purpose.
    const kept =
      REGRESSION_POLICY[style] === 'deadLetter'
        ? await heldBack(store, stream, diff.stale, truth)
        : new Set();
    for (const [list, kind] of [
      [diff.missing, 'missing'],
      [diff.stale.filter((key) => !kept.has(key)), 'stale'],
    ] as const) {
      for (const key of list) {
        const entry = truth.get(key);
        if (!entry || Date.parse(entry.updatedAt) < from) continue;
        if (kind === 'missing') missing++;
        else stale++;
        if (differences.length < 6) {
          differences.push(
            `${stream} ${key} (before reconciliation, inside the window): ${await describeKey(store, stream, key, entry)}`,
          );
        }
      }
    }
  }
  return { missing, stale, notDeleted, differences };
}

/** What the classifier says when it dead-letters a version regression. */
const REGRESSION_REASON = /^version went back from (\S+) to (\S+) although the cursor moved forward/;

/**
 * The keys of a `deadLetter` stream that differ from the source only because the source rolled
 * them back: the local row kept a higher version than the source's, and the key's open dead letter
 * seen last is a regression from that version to the source's, holding exactly the source's
 * current record.
 */
async function heldBack(
  store: Store,
  stream: string,
  keys: readonly string[],
  truth: ReadonlyMap<string, GroundTruthEntry>,
): Promise<Set<string>> {
  const held = new Set<string>();
  if (keys.length === 0) return held;
  // The open letter of each key that failed last: a letter is one record, and counts each time it
  // fails again, so the one seen last is not always the one created last.
  const newest = new Map<string, StoredDeadLetter>();
  for (const letter of await store.listDeadLetters({ stream, limit: 100_000 })) {
    if (letter.key === null) continue;
    const seen = newest.get(letter.key);
    if (!seen || Date.parse(letter.lastSeenAt) > Date.parse(seen.lastSeenAt)) newest.set(letter.key, letter);
  }
  const rows = await store.lookup(stream, keys);
  for (const key of keys) {
    const row = rows.get(key);
    const source = truth.get(key);
    const letter = newest.get(key);
    const reason = letter ? REGRESSION_REASON.exec(letter.reason) : null;
    if (!row || !source?.hash || !letter || !reason || row.version === null) continue;
    if (!(Number(row.version) > source.version)) continue;
    if (reason[1] !== row.version || reason[2] !== String(source.version)) continue;
    if (contentHash(JSON.parse(letter.payload)) === source.hash) held.add(key);
  }
  return held;
}

/**
 * The version regressions a stream applied: change-log rows whose version is lower than the one
 * before them for the same key.
 */
async function versionDrops(store: Store, stream: string): Promise<number> {
  const last = new Map<string, number>();
  let drops = 0;
  let afterSeq = 0;
  for (;;) {
    const rows = await store.readChanges({ afterSeq, limit: 5000, stream });
    for (const row of rows) {
      if (row.version === null) continue;
      const version = Number(row.version);
      const before = last.get(row.key);
      if (before !== undefined && version < before) drops++;
      last.set(row.key, version);
    }
    if (rows.length < 5000) return drops;
    afterSeq = rows.at(-1)!.seq;
  }
}

/** A checkpoint's watermark must never move backwards, within a run or from one run to the next. */
export function checkpointRegressions(
  runs: readonly RunRecord[],
  differences: string[],
  stream: string,
): number {
  type Mark = { cursor: string; id: string | null } | null | undefined;
  const mark = (c: unknown): Mark => (c as { watermark?: Mark } | null)?.watermark;
  let count = 0;
  let last: Mark = null;
  for (const run of runs) {
    const before = mark(run.checkpointBefore);
    const after = mark(run.checkpointAfter);
    for (const next of [before, after]) {
      if (last && next && compareCursorText(next.cursor, last.cursor) < 0) {
        count++;
        if (differences.length < 12)
          differences.push(
            `${stream} run ${run.runId}: watermark went back from ${last.cursor} to ${next.cursor}`,
          );
      }
      if (next) last = next;
    }
  }
  return count;
}

/** A changes feed's token (a sequence number) must never go back, within a run or across runs. */
function tokenRegressions(runs: readonly RunRecord[], differences: string[], stream: string): number {
  const token = (c: unknown): number | null => {
    const position = (c as { position?: unknown } | null)?.position;
    return typeof position === 'string' ? Number(position) : null;
  };
  let count = 0;
  let last: number | null = null;
  for (const run of runs) {
    for (const next of [token(run.checkpointBefore), token(run.checkpointAfter)]) {
      if (last !== null && next !== null && next < last) {
        count++;
        if (differences.length < 12)
          differences.push(`${stream} run ${run.runId}: the feed's token went back from ${last} to ${next}`);
      }
      if (next !== null) last = next;
    }
  }
  return count;
}

async function describeKey(
  store: Store,
  stream: string,
  key: string,
  source: { version: number; updatedAt: string; status: string } | undefined,
): Promise<string> {
  const [row] = await store.scanRecords(stream, {
    afterKey: `${key.slice(0, -1)}${String.fromCharCode(key.charCodeAt(key.length - 1) - 1)}\uffff`,
    limit: 1,
  });
  const local =
    row?.key === key
      ? `v${row.version} ${row.deletedAt ? 'deleted' : 'live'} synced ${row.syncedAt}`
      : 'absent';
  const src = source ? `v${source.version} ${source.status} updated_at ${source.updatedAt}` : 'unknown';
  return `source ${src}; local ${local}`;
}

async function finalSync(
  dir: string,
  location: string,
  problems: string[],
  what: string,
  command: 'sync' | 'reconcile' = 'sync',
  env: Readonly<Record<string, string>> = {},
  streams: readonly string[] = [],
): Promise<void> {
  const result = await runCli([command, ...streams, '--store', location], dir, 180_000, env);
  if (result.code !== 0) problems.push(`${what} exited ${result.code}: ${lastLine(result.stderr)}`);
}

function spawnSync(dir: string, location: string): ChildProcess {
  return spawnCli(['sync', '--store', location], dir);
}

/**
 * `syncline run` with its API on a free loopback port (several cycles never share one); the
 * observers a service serves (sse) are told its URL once it serves.
 */
function spawnService(
  dir: string,
  location: string,
  env: Readonly<Record<string, string>>,
  observers: readonly SinkObserver[] = [],
  config?: string,
  /** Told the service's API URL once it serves (the webhook provider). */
  listeners: readonly ((url: string) => void)[] = [],
): ChildProcess {
  const child = spawnCli(
    [...(config ? ['--config', config] : []), 'run', '--store', location, '--listen', '127.0.0.1:0'],
    dir,
    env,
  );
  const served = [
    ...observers.filter((o) => o.serviceListening).map((o) => (url: string) => o.serviceListening!(url)),
    ...listeners,
  ];
  if (served.length > 0) {
    let partial = '';
    const onData = (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        // `{"api":"http://127.0.0.1:port","msg":"syncline run: serving ..."}` (the logger redacts
        // the `url` of its "API listening" line).
        if (!line.includes('"msg":"syncline run: serving')) continue;
        const url = (JSON.parse(line) as { api?: string }).api;
        if (url) for (const tell of served) tell(url);
        child.stderr?.off('data', onData);
      }
    };
    child.stderr?.on('data', onData);
  }
  return child;
}

export function spawnCli(
  args: readonly string[],
  dir: string,
  env: Readonly<Record<string, string>> = {},
): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { ...process.env, ...env, SYNCLINE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Log lines saying a sink stopped for good, paused or dead-lettered an event: none may occur. */
  readonly sinkTrouble: string[];
}

/** What a sink logs when it stops, pauses or rejects events: never right in a chaos run. */
const SINK_TROUBLE =
  /"msg":"(sink stopped|sink paused|a sink refused an event|a destination refused a record|sink: the target refused)/;

export function waitExit(child: ChildProcess): Promise<Exit> {
  let stderr = '';
  let partial = '';
  const sinkTrouble: string[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr = (stderr + text).slice(-4000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (SINK_TROUBLE.test(line) && sinkTrouble.length < 3) sinkTrouble.push(line);
  });
  return new Promise((resolvePromise) =>
    child.on('close', (code, signal) => resolvePromise({ code, signal, stderr, sinkTrouble })),
  );
}

async function runCli(
  args: readonly string[],
  dir: string,
  timeoutMs = 60_000,
  env: Readonly<Record<string, string>> = {},
): Promise<Exit> {
  const child = spawnCli(args, dir, env);
  return withTimeout(waitExit(child), timeoutMs, () => child.kill('SIGKILL'));
}

async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  const timer = setTimeout(onTimeout, ms);
  try {
    return await promise;
  } finally {
    clearTimeout(timer);
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  const line = lines.at(-1) ?? '';
  try {
    return (JSON.parse(line) as { msg?: string }).msg ?? line;
  } catch {
    return line;
  }
}
