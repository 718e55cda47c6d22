import { once, setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { readEnvSecret } from '../config/load-config.ts';
import { newHolderId } from '../core/clock.ts';
import { describeError, InterruptedError } from '../core/errors.ts';
import { SyncEventBus } from '../core/events.ts';
import { type Store, sharedRateBuckets } from '../core/store.ts';
import type { Logger, RunRequest } from '../core/types.ts';
import { SYNCLINE_VERSION } from '../core/version.ts';
import { RateLimiters } from '../engine/rate-limiter.ts';
import { createSseChannel } from '../sinks/sse/sse-channel.ts';
import { captureSlots, watchCaptureSlots } from './cdc-status.ts';
import { ClusterScheduler } from './cluster-scheduler.ts';
import type { Runtime } from './create-runtime.ts';
import { DestinationTally } from './destination-tally.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { pruneChangeLog } from './prune-change-log.ts';
import { Scheduler } from './scheduler.ts';
import { createServiceControl } from './service-control.ts';
import type { RunOutcomeStatus, RunScheduler, ServiceControl } from './service-types.ts';
import { isDeliveringSink, prepareSinks, type RunningSinks } from './sinks.ts';
import { createWebhookIntake } from './webhook-intake.ts';

/** How often the change log's retention is applied while the service runs. */
const PRUNE_EVERY_MS = 60_000;
/** How often a paused stream's store state is read for an approval given elsewhere (`syncline approve`). */
const APPROVAL_POLL_MS = 5_000;

/** A day, in ms. */
const DAY_MS = 86_400_000;

export interface ServiceOptions {
  readonly runtime: Runtime;
  readonly log: Logger;
  /** The bus runs report on; a new one by default. Observers (a live table) subscribe to it. */
  readonly events?: SyncEventBus;
  /** Called whenever the scheduler's state changes (a run started or ended, a stream fell due). */
  readonly onChange?: () => void;
  /**
   * `run` (default): the service. `serve` (`syncline serve`): only the doors' side of it: no
   * schedule fires, no sink or destination is delivered, the change log is not pruned and the
   * inbox's leftovers are not applied at start; what an operator asks for still runs. On a store of
   * one machine (SQLite), a triggered run runs in this process (the stream's lease keeps it from
   * racing a `syncline run` on the same file); in a cluster (PostgreSQL), this process joins no
   * cluster as a worker: it queues what is asked for as jobs for the workers to take.
   */
  readonly mode?: 'run' | 'serve';
}

export interface Service {
  /** The in-process scheduler (SQLite store) or the cluster's (PostgreSQL store: a shared job queue). */
  readonly scheduler: RunScheduler;
  readonly events: SyncEventBus;
  readonly metrics: Metrics;
  /** What an API (server/) asks of the service. */
  readonly control: ServiceControl;
  /**
   * The config's sinks, once `start()` started them (null before, or without sinks). In a cluster,
   * those another worker delivers to are `elsewhere`.
   */
  sinks(): Pick<RunningSinks, 'status' | 'resume'> | null;
  /**
   * Starts the scheduler: streams run as they fall due. Built first, so a door (the HTTP API) can
   * open before. In a cluster, resolves once this worker joined it.
   */
  start(): Promise<void>;
  /**
   * Stops: no run starts any more; the runs in progress stop after their page in progress and
   * release their leases. Waits for them up to the config's `service.shutdownTimeout`; past it,
   * the pages still in flight are dropped (their checkpoint did not move, the next run re-reads
   * them). Resolves `true` when every run ended in time.
   */
  stop(): Promise<boolean>;
}

/**
 * `syncline run` without its doors: keeps every stream of the config fresh on its schedule
 * (scheduler, once `start()`ed), counts metrics, prunes the change log on a timer and notices
 * approvals given from another process; `control` is what the HTTP API (server/, opened by the
 * CLI) asks of it. Built over one `Runtime` (the composition root); every run is an ordinary
 * `runStreams` call for one stream, so leases keep a manual `syncline sync` of the same store and
 * the service from applying one stream twice.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { runtime, log } = options;
  const serving = options.mode === 'serve';
  const config = await runtime.config();
  const store = await runtime.store('create');
  const events = options.events ?? new SyncEventBus();
  // Who is told of changes (the dashboard's live feed): the scheduler's moves, runs and pages.
  const watchers = new Set<(event: 'change' | 'stop') => void>();
  const changed = () => {
    options.onChange?.();
    for (const watcher of watchers) watcher('change');
  };
  for (const event of ['run:started', 'run:finished', 'page:committed'] as const) {
    events.on(event, () => {
      for (const watcher of watchers) watcher('change');
    });
  }
  const abort = new AbortController();
  // Every run in progress listens on it (and removes its listener when it ends): up to
  // `sync.concurrency` at once, past Node's default warning threshold of 10.
  setMaxListeners(config.sync.concurrency * 4 + 10, abort.signal);
  // A host's `shared` rate limit is the store's bucket (PostgreSQL), drawn from by every worker.
  const limiters = new RateLimiters({ shared: sharedRateBuckets(store) });
  const holder = newHolderId();

  const run = async (stream: string, request: RunRequest, stop: AbortSignal = abort.signal) => {
    const [outcome] = await runtime.run({
      only: [stream],
      request,
      events,
      log,
      stop,
      prune: false,
      limiters,
      holder,
    });
    return { status: outcome!.status as RunOutcomeStatus, error: outcome!.error };
  };
  // Built now, so a bad sink or destination (a private target, a missing secret) stops the start
  // with its error; they deliver once `start()` is called, woken by the commits of this service's runs.
  const preparedSinks =
    !serving && (config.sinks.some(isDeliveringSink) || config.destinations.length > 0)
      ? await prepareSinks({ sinks: config.sinks, destinations: config.destinations, events, log })
      : null;
  // Serving, the sinks are still named (the cluster's workers deliver to them: `elsewhere`).
  const deliveries = [...config.sinks.filter(isDeliveringSink), ...config.destinations].map((s) => s.name);
  /** In a cluster: the sinks this worker delivers to now, each for one job's slice. */
  const slices = new Map<string, RunningSinks>();
  const cluster = store.cluster?.() ?? null;
  const scheduler: RunScheduler = cluster
    ? new ClusterScheduler({
        cluster,
        worker: {
          id: holder,
          host: hostname(),
          pid: process.pid,
          version: SYNCLINE_VERSION,
          concurrency: config.sync.concurrency,
          timeoutMs: config.service.workerTimeoutMs,
        },
        schedules: config.schedules,
        concurrency: config.sync.concurrency,
        run: (stream, request, signal) => run(stream, request, AbortSignal.any([abort.signal, signal])),
        backoff: config.service.backoff,
        deliveries,
        deliver: async (name, signal) => {
          const running = preparedSinks!.start(store, [name]);
          slices.set(name, running);
          try {
            await Promise.race([once(signal, 'abort'), running.done]);
          } finally {
            slices.delete(name);
            await running.stop({ close: false });
          }
        },
        approved: async (stream) => (await store.getState(stream))?.approved === true,
        member: !serving,
        log,
        onChange: changed,
        onJobStart: (task, delayMs) => metrics.observeJobStart(task, delayMs),
      })
    : new Scheduler({
        // Serving: every stream runs only when asked for.
        schedules: serving
          ? config.schedules.map((s) => ({ stream: s.stream, sync: null, reconcile: null }))
          : config.schedules,
        concurrency: config.sync.concurrency,
        run: (stream, request) => run(stream, request),
        backoff: config.service.backoff,
        log,
        onChange: changed,
      });
  const destinationTally = new DestinationTally(events);
  const metrics = createMetrics({
    events,
    queueDepth: () => scheduler.queueDepth(),
    destinations: config.destinations.map((d) => d.name),
    destinationTally,
  });
  await seedMetrics(metrics, store);

  // The sse sink needs no runner: each client of GET /v1/events reads the log at its own position.
  const sse = config.sinks.find((sink) => sink.type === 'sse');
  const sseChannel = sse
    ? createSseChannel({
        name: sse.name,
        streams: sse.streams,
        kinds: sse.kinds,
        data: sse.data,
        heartbeatMs: sse.heartbeatMs,
        maxBuffered: sse.maxBuffered,
        maxClients: sse.maxClients,
        knownStreams: config.streams.map((s) => s.name),
        feed: store,
        events,
        log,
      })
    : null;
  // Webhook streams: a verified event is written to the inbox, then a sync of its stream applies it.
  // A run that could not be queued (the store refused a connection) is asked for again, 1 s then
  // doubling up to 30 s, until it is: a stream without a schedule has no other run to apply it.
  const applyRetries = new Map<string, NodeJS.Timeout>();
  const applyInbox = (stream: string, attempt = 0) => {
    if (attempt === 0 && applyRetries.has(stream)) return; // the retry queues the run
    const later = (error: unknown) => {
      const fields = { stream, err: describeError(error) };
      // Stopping: the event is in the inbox; the next start applies it.
      if (error instanceof InterruptedError || abort.signal.aborted) {
        log.debug(fields, 'webhook stored; its run waits for the next start');
        return;
      }
      const delayMs = Math.min(30_000, 1000 * 2 ** attempt);
      log.warn(
        { ...fields, retryInMs: delayMs },
        'webhook stored, but its run could not be queued; asking again',
      );
      const retry = setTimeout(() => {
        applyRetries.delete(stream);
        applyInbox(stream, attempt + 1);
      }, delayMs);
      retry.unref();
      applyRetries.set(stream, retry);
    };
    try {
      const queued = scheduler.trigger(stream, { mode: 'sync' });
      if (queued instanceof Promise) queued.catch(later);
    } catch (error) {
      later(error);
    }
  };
  const webhooks = config.streams.some((s) => s.receive)
    ? createWebhookIntake({ config, store, apply: applyInbox, log })
    : null;
  /** In a cluster, every sink of the config: those delivered here by their slice, the others `elsewhere`. */
  const clusterSinks: Pick<RunningSinks, 'status' | 'resume'> = {
    status: () =>
      deliveries.map(
        (name) =>
          slices.get(name)?.status()[0] ?? {
            name,
            state: 'elsewhere' as const,
            offset: 0,
            lastError: null,
            failingSince: null,
          },
      ),
    resume: (name) => {
      for (const running of slices.values()) running.resume(name);
    },
  };
  const sinksView = () => (cluster ? (started ? clusterSinks : null) : sinks);
  let started = false;
  const control = createServiceControl({
    store,
    config,
    scheduler,
    metrics,
    sinks: sinksView,
    events: sseChannel,
    webhooks,
    destinationTally,
    log,
    watch: (listener) => {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
  });
  const timers: NodeJS.Timeout[] = [];
  let sinks: RunningSinks | null = null;
  const start = async () => {
    if (started) return;
    started = true;
    await scheduler.start();
    if (serving) {
      // A stream paused by a run asked for here goes on once approved from another process.
      if (!cluster) timers.push(setInterval(() => void watchApprovals(), APPROVAL_POLL_MS));
      return;
    }
    // What webhooks left in the inbox before a stop is applied now.
    for (const stream of config.streams) if (stream.receive) applyInbox(stream.name);
    // In a cluster, each sink is a job of the queue (one worker delivers to it at a time).
    if (!cluster) sinks = preparedSinks?.start(store) ?? null;
    timers.push(setInterval(() => void prune(), PRUNE_EVERY_MS));
    // In a cluster, a paused stream's own job looks for its approval.
    if (!cluster) timers.push(setInterval(() => void watchApprovals(), APPROVAL_POLL_MS));
    stopWatchingSlots = watchCaptureSlots({
      slots: captureSlots(config.streams),
      secret: readEnvSecret,
      events,
      log,
    });
  };
  let stopWatchingSlots: () => void = () => {};
  let pruning: Promise<unknown> | null = null;
  const prune = () => {
    pruning ??= Promise.all([
      pruneChangeLog({ store, retentionMs: config.changes.retentionMs, log, stop: abort.signal }),
      pruneInboxes(),
    ]).finally(() => {
      pruning = null;
    });
    return pruning;
  };
  // Applied webhook events go after the change log's retention (at least a day: their ids keep
  // redeliveries out for that long, past any provider's signature tolerance).
  const pruneInboxes = async () => {
    const receivedBefore = new Date(Date.now() - Math.max(config.changes.retentionMs, DAY_MS)).toISOString();
    for (const stream of config.streams) {
      if (!stream.receive && !stream.capture) continue;
      try {
        const appliedUpTo = ((await store.getState(stream.name))?.checkpoint as { inbox?: number } | null)
          ?.inbox;
        if (appliedUpTo) await store.pruneInbox({ stream: stream.name, appliedUpTo, receivedBefore });
      } catch (error) {
        log.warn({ stream: stream.name, err: describeError(error) }, 'could not prune the inbox');
      }
    }
  };
  const watchApprovals = async () => {
    for (const s of scheduler.status()) {
      if (s.state !== 'paused') continue;
      try {
        if ((await store.getState(s.stream))?.approved) {
          log.info({ stream: s.stream }, 'approved: the paused stream runs again');
          scheduler.resume(s.stream);
        }
      } catch (error) {
        log.warn(
          { stream: s.stream, err: describeError(error) },
          'could not read the approval of a paused stream',
        );
      }
    }
  };

  let stopping: Promise<boolean> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      // First: open event streams end now rather than hold the HTTP server's close.
      sseChannel?.close();
      for (const watcher of [...watchers]) watcher('stop');
      for (const t of timers) clearInterval(t);
      for (const t of applyRetries.values()) clearTimeout(t);
      stopWatchingSlots();
      const ended = scheduler.stop();
      abort.abort();
      const timeoutMs = config.service.shutdownTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        ended.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        log.warn(
          { timeoutMs },
          'runs did not stop within service.shutdownTimeout; dropping the pages in flight (their checkpoints did not move)',
        );
      }
      await sinks?.stop();
      await preparedSinks?.close();
      await pruning?.catch(() => undefined);
      metrics.close();
      return inTime;
    })();
    return stopping;
  };

  return { scheduler, events, metrics, control, sinks: sinksView, start, stop };
}

/** Lag and freshness from one read of the store, so `/metrics` has them before the first run ends. */
async function seedMetrics(metrics: Metrics, store: Store): Promise<void> {
  const streams = await store.listStreams();
  const lastOk = new Map<string, string>();
  for (const s of streams) {
    const [ok] = await store.listRuns({ stream: s.stream, status: 'ok', limit: 1 });
    if (ok) lastOk.set(s.stream, ok.endedAt ?? ok.startedAt);
  }
  metrics.seed(streams, lastOk);
}
