import { EventEmitter } from 'node:events';
import {
  type JobHelpers,
  Logger as QueueLogger,
  type Runner,
  run as runQueue,
  type Task,
} from 'graphile-worker';
import pg from 'pg';
import { ConfigError, describeError, InterruptedError, NotFoundError } from '../core/errors.ts';
import type { StreamSchedule } from '../core/schedule.ts';
import type { ClusterStore, RunningJob, WorkerRegistration } from '../core/store.ts';
import type { Logger, RunRequest } from '../core/types.ts';
import { holderIsDead } from '../engine/lease-keeper.ts';
import {
  backoffDelay,
  coverDue,
  type DueTimes,
  describeSchedule,
  dueAfterEnd,
  firstDueTimes,
  nextScheduledAt,
  scheduledMode,
} from './schedule.ts';
import type { ScheduledRunOutcome } from './scheduler.ts';
import type {
  ScheduledStreamStatus,
  SchedulerHandle,
  SchedulerState,
  TriggerResult,
} from './service-types.ts';

/** The queue's task that runs one stream once (scheduled or asked for). */
const RUN_TASK = 'syncline_run';
/** The queue's task that delivers to one sink or destination for a slice of time. */
const DELIVER_TASK = 'syncline_deliver';
/** How often a paused stream's job looks for an approval given anywhere (`syncline approve`, the API). */
const PAUSED_POLL_MS = 5_000;
/** A run that found its stream held by a live process (a manual `syncline sync`) tries again this much later. */
const BUSY_RETRY_MS = 2_000;
/** How often the scheduler's picture of the cluster (`status()`) is read again. */
const STATUS_EVERY_MS = 2_000;
/** How long one delivery job runs before handing its sink back to the queue (any worker may take it next). */
const DELIVERY_SLICE_MS = 60_000;

/** A scheduled stream's job: its due times and failures travel with it from worker to worker. */
interface ScheduledPayload extends DueTimes {
  readonly stream: string;
  readonly scheduled: true;
  readonly failures: number;
  /** After its last run failed: not before this time. */
  readonly backoffUntil: number | null;
  /** The backfill breaker paused it: the job only looks for an approval. */
  readonly paused: boolean;
}

/** A run asked for by hand (the API, a webhook's arrival, a replay). */
interface RequestedPayload {
  readonly stream: string;
  readonly request: RunRequest;
}

type RunPayload = ScheduledPayload | RequestedPayload;

export interface ClusterSchedulerOptions {
  readonly cluster: ClusterStore;
  readonly worker: WorkerRegistration;
  readonly schedules: readonly StreamSchedule[];
  /** Runs at once on this worker (`sync.concurrency`). */
  readonly concurrency: number;
  /** Runs one stream; aborting `signal` stops it after its page in progress. */
  readonly run: (stream: string, request: RunRequest, signal: AbortSignal) => Promise<ScheduledRunOutcome>;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** The sinks and destinations to deliver to: each one job, run by one worker of the cluster at a time. */
  readonly deliveries: readonly string[];
  /** Delivers to the sink `name` until `signal` aborts. */
  readonly deliver?: (name: string, signal: AbortSignal) => Promise<void>;
  /** Whether the paused stream was approved since it paused. */
  readonly approved: (stream: string) => Promise<boolean>;
  readonly log: Logger;
  readonly onChange?: () => void;
  /** Called with how late each job started after it was due (ms). */
  readonly onJobStart?: (task: 'run' | 'deliver', delayMs: number) => void;
  readonly random?: () => number;
  /** How often idle job runners look for jobs that fell due. Default 1 s. */
  readonly pollIntervalMs?: number;
  readonly deliverySliceMs?: number;
  /**
   * False: a client of the cluster, not a worker (`syncline serve`): it queues the runs asked for
   * by hand as jobs for the workers and reads the queue for its status, but registers no worker,
   * takes no job and seeds no schedule. Default true.
   */
  readonly member?: boolean;
}

/** What the scheduler last read of one stream's jobs in the queue. */
interface QueuedJob {
  readonly key: string;
  readonly runAt: number;
  readonly locked: boolean;
  readonly payload: RunPayload | null;
}

/**
 * The scheduler of a cluster (a PostgreSQL store): every run is a job of a graphile-worker queue
 * beside the store's schema, which every `syncline run` process sharing the store works from, so a
 * run is done once, by whichever worker is free.
 *
 * - A stream with a schedule has one job keyed `sync:<stream>`, due when its next run is. Its
 *   payload carries its due times, failures and backoff; the worker that runs it computes the next
 *   ones as the in-process scheduler would (`schedule.ts`) and queues the next job under the same
 *   key before it ends. Each worker seeds the jobs that are missing when it starts (under a lock,
 *   never beside one that runs), so a new cluster, a new stream or a chain broken by a crash is
 *   healed by the next start.
 * - A run asked for by hand is a job keyed `trigger:<stream>:<mode>` (asked twice, queued once); a
 *   replay of given dead letters has no key.
 * - Each sink and destination is one job keyed `deliver:<name>` that delivers for a slice of time
 *   and hands itself back: one worker delivers to it at a time, so its rate limit and in-flight cap
 *   hold for the whole cluster.
 * - The stream lease and its fencing epoch stay what keeps two workers from writing one stream;
 *   the queue only spreads the work. A worker whose heartbeat stops (killed, partitioned) is taken
 *   for dead by the others after `worker.timeoutMs` (the database's clock): its jobs are unlocked
 *   and its leases released (`ClusterStore.takeDeadWorkers`), and a stream resumes from its
 *   committed checkpoint on another worker.
 */
export class ClusterScheduler implements SchedulerHandle {
  readonly #options: ClusterSchedulerOptions;
  readonly #random: () => number;
  readonly #schedules: Map<string, StreamSchedule>;
  readonly #queueSchema: string;
  readonly #pool: pg.Pool;
  readonly #queueEvents = new EventEmitter();
  readonly #queueWorkers = new Set<string>();
  /** The jobs this worker runs now, by job id. */
  readonly #running = new Map<
    string,
    RunningJob & { readonly stream: string | null; readonly abort: AbortController }
  >();
  readonly #lastOutcome = new Map<string, ScheduledStreamStatus['lastOutcome']>();
  readonly #stop = new AbortController();
  #runners: Runner[] = [];
  #timers: NodeJS.Timeout[] = [];
  #jobs = new Map<string, QueuedJob[]>();
  #elsewhere = new Map<string, RunningJob>();
  #started = false;
  #stopped: Promise<void> | null = null;
  #beat: Promise<void> | null = null;
  /** The newest migration of the queue's schema once this worker's runners migrated it. */
  #queueRevision: number | null = null;
  /** Timers that wake the queue's runners when a job falls due, by due time. */
  readonly #wakes = new Map<number, NodeJS.Timeout>();
  #publishing: NodeJS.Timeout | null = null;

  constructor(options: ClusterSchedulerOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#schedules = new Map(options.schedules.map((s) => [s.stream, s]));
    this.#queueSchema = options.cluster.jobQueue.schema;
    this.#pool = new pg.Pool({
      connectionString: options.cluster.jobQueue.connectionString,
      max: options.concurrency + options.deliveries.length + 3,
      application_name: 'syncline-jobs',
      keepAlive: true,
    });
    // A connection that dies while idle is dropped by the pool; the next query opens another.
    this.#pool.on('error', () => undefined);
    this.#pool.on('connect', (client) => {
      client.on('error', () => undefined);
      this.#screenMigrationNotices(client);
    });
    // The queue locks a job in the name of the runner's pool (`locked_by`): what is unlocked when
    // this worker is taken for dead.
    this.#queueEvents.on('pool:create', ({ workerPool }: { workerPool: { id: string } }) => {
      this.#queueWorkers.add(workerPool.id);
    });
  }

  get running(): boolean {
    return this.#started && !this.#stop.signal.aborted;
  }

  /**
   * Registers this worker, starts its job runners (the queue's schema is created or migrated by
   * the first), seeds the jobs the cluster lacks and starts the heartbeat.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { cluster, worker, log } = this.#options;
    if (this.#options.member === false) {
      this.#timers.push(setInterval(() => void this.#refresh(), STATUS_EVERY_MS));
      await this.#refresh();
      log.info(
        { queue: this.#queueSchema },
        'not a worker of the cluster: runs asked for here are queued for its workers',
      );
      return;
    }
    await cluster.registerWorker(worker);
    // Takes the dead first (a predecessor on this machine killed a moment ago): their jobs are free
    // when the runners start.
    await this.#heartbeat();
    // Beating from now on: the runners take jobs as soon as they start, and the rest of the start
    // (the queue's migration, the seeding behind other workers' lock) may outlast the timeout.
    const beatEvery = Math.max(200, Math.floor(worker.timeoutMs / 6));
    this.#timers.push(setInterval(() => void this.#heartbeat(), beatEvery));
    const logger = queueLogger(log);
    const common = {
      pgPool: this.#pool,
      schema: this.#queueSchema,
      noHandleSignals: true,
      pollInterval: this.#options.pollIntervalMs ?? 1000,
      // No crontab file is read from the working directory: schedules come from the config.
      crontab: '',
      logger,
      events: this.#queueEvents,
    };
    this.#runners.push(
      await runQueue({
        ...common,
        concurrency: this.#options.concurrency,
        taskList: { [RUN_TASK]: this.#runTask },
      }),
    );
    this.#queueRevision = await this.#newestMigration(false);
    if (this.#options.deliveries.length > 0 && this.#options.deliver) {
      this.#runners.push(
        await runQueue({
          ...common,
          concurrency: this.#options.deliveries.length,
          taskList: { [DELIVER_TASK]: this.#deliverTask },
        }),
      );
    }
    // A runner the queue stopped on its own (a breaking migration of this queue by a newer
    // Syncline): this worker takes no more jobs, so it leaves the cluster and says it is not ready.
    for (const runner of this.#runners) {
      runner.promise.then(
        () => this.#runnerEnded(),
        () => this.#runnerEnded(),
      );
    }
    await this.#heartbeat();
    await this.#seed();
    this.#timers.push(setInterval(() => void this.#refresh(), STATUS_EVERY_MS));
    await this.#refresh();
    log.info(
      { worker: worker.id, concurrency: this.#options.concurrency, queue: this.#queueSchema },
      'joined the cluster: runs come from the job queue shared by every worker of this store',
    );
  }

  /**
   * Takes no more jobs; the runs in progress stop after their page and queue their stream again at
   * once (another worker takes it), then this worker leaves the cluster. Resolves when they ended.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stop.abort();
      for (const t of this.#timers) clearInterval(t);
      for (const t of this.#wakes.values()) clearTimeout(t);
      if (this.#publishing) clearTimeout(this.#publishing);
      for (const job of this.#running.values()) job.abort.abort();
      await Promise.allSettled(this.#runners.map((r) => r.stop()));
      await this.#beat?.catch(() => undefined);
      if (this.#options.member !== false) {
        await this.#options.cluster.removeWorker(this.#options.worker.id).catch((error: unknown) => {
          this.#options.log.warn(
            { err: describeError(error) },
            'could not leave the cluster; the others will take this worker for dead',
          );
        });
      }
      await this.#pool.end().catch(() => undefined);
      this.#changed();
    })();
    return this.#stopped;
  }

  status(): ScheduledStreamStatus[] {
    const now = Date.now();
    return [...this.#schedules.values()].map((schedule) => {
      const stream = schedule.stream;
      const jobs = this.#jobs.get(stream) ?? [];
      const scheduled = jobs.find((j) => j.key === `sync:${stream}` && !j.locked);
      const payload = scheduled?.payload && 'scheduled' in scheduled.payload ? scheduled.payload : null;
      const local = [...this.#running.values()].find((j) => j.stream === stream);
      const running = local ?? this.#elsewhere.get(stream) ?? null;
      const waiting = jobs.some((j) => !j.locked && j.runAt <= now);
      let state: SchedulerState = 'idle';
      if (running) state = 'running';
      else if (payload?.paused) state = 'paused';
      else if (waiting) state = 'queued';
      else if (payload?.backoffUntil && payload.backoffUntil > now) state = 'backing_off';
      const nextAt = scheduled ? scheduled.runAt : null;
      return {
        stream,
        state,
        schedule: schedule.sync ? describeSchedule(schedule.sync) : null,
        reconcileSchedule: schedule.reconcile ? describeSchedule(schedule.reconcile) : null,
        nextRunAt: nextAt === null || payload?.paused ? null : new Date(nextAt).toISOString(),
        nextRunMode: nextAt === null || !payload ? null : scheduledMode(payload, nextAt),
        running: running ? { mode: running.mode as RunRequest['mode'], startedAt: running.startedAt } : null,
        consecutiveFailures: payload?.failures ?? 0,
        backoffUntil:
          payload?.backoffUntil && payload.backoffUntil > now
            ? new Date(payload.backoffUntil).toISOString()
            : null,
        lastOutcome: this.#lastOutcome.get(stream) ?? null,
      };
    });
  }

  /**
   * Queues a run of the stream for whichever worker is free. A sync or reconcile already queued
   * for it is not queued twice (its job key); a replay of given letters always is.
   */
  async trigger(stream: string, request: RunRequest): Promise<TriggerResult> {
    this.#known(stream);
    if (this.#stop.signal.aborted) {
      throw new InterruptedError(
        `stream "${stream}": this worker is stopping and queues no more runs; ask another worker or again once it has restarted`,
        { stream },
      );
    }
    const keyed = request.mode === 'sync' || request.mode === 'reconcile';
    await this.#addJob(RUN_TASK, { stream, request } satisfies RequestedPayload, {
      key: keyed ? `trigger:${stream}:${request.mode}` : null,
      runAt: Date.now(),
    });
    void this.#refresh();
    return { state: 'queued', stream, mode: request.mode };
  }

  /** A paused stream's job looks for its approval now rather than at its next poll. */
  resume(stream: string): void {
    this.#known(stream);
    void this.#pool
      .query(
        `SELECT id FROM "${this.#queueSchema}".reschedule_jobs(
           ARRAY(SELECT id FROM "${this.#queueSchema}".jobs WHERE key = $1 AND locked_at IS NULL),
           run_at => now())`,
        [`sync:${stream}`],
      )
      .catch((error: unknown) => {
        this.#options.log.warn(
          { stream, err: describeError(error) },
          'could not wake the paused stream; it looks again within 5 s',
        );
      });
  }

  /** Streams with a job due and not started. */
  queueDepth(): number {
    return this.status().filter((s) => s.state === 'queued').length;
  }

  #known(stream: string): void {
    if (this.#schedules.has(stream)) return;
    throw new NotFoundError(
      `no stream "${stream}" in the config; known: ${[...this.#schedules.keys()].join(', ') || 'none'}`,
      { stream },
    );
  }

  /** Runs one stream's job: a scheduled run (its next job queued before it ends) or a requested one. */
  readonly #runTask: Task = async (raw, helpers) => {
    const payload = raw as RunPayload;
    const stream = payload.stream;
    if (!this.#schedules.has(stream)) {
      // Another worker's config has it (a rolling config change): the queue retries it with backoff.
      throw new NotFoundError(`no stream "${stream}" in this worker's config; another worker may run it`, {
        stream,
      });
    }
    this.#options.onJobStart?.('run', Date.now() - helpers.job.run_at.getTime());
    if ('scheduled' in payload) await this.#runScheduled(payload, helpers);
    else await this.#runRequested(payload, helpers);
  };

  async #runRequested(payload: RequestedPayload, helpers: JobHelpers): Promise<void> {
    const outcome = await this.#tracked(helpers, payload.stream, payload.request.mode, (signal) =>
      this.#options.run(payload.stream, payload.request, signal),
    );
    if (outcome === null) return;
    if (outcome.status === 'busy' || (outcome.status === 'interrupted' && this.#stop.signal.aborted)) {
      // Not run (the stream was held) or cut short by this worker's stop: queued again, not lost.
      await this.#addJob(RUN_TASK, payload, {
        key: helpers.job.key,
        runAt: Date.now() + (outcome.status === 'busy' ? BUSY_RETRY_MS : 0),
      });
    }
  }

  async #runScheduled(payload: ScheduledPayload, helpers: JobHelpers): Promise<void> {
    const schedule = this.#schedules.get(payload.stream)!;
    const key = `sync:${payload.stream}`;
    const now = Date.now();
    if (payload.paused && !(await this.#options.approved(payload.stream))) {
      await this.#addJob(RUN_TASK, payload, { key, runAt: now + PAUSED_POLL_MS });
      return;
    }
    const mode = scheduledMode(payload, now);
    const { due, covered } = coverDue(schedule, payload, mode, now, this.#random);
    const outcome = await this.#tracked(helpers, payload.stream, mode, (signal) =>
      this.#options.run(payload.stream, { mode }, signal),
    );
    if (outcome === null) return;
    const end = Date.now();
    let next: ScheduledPayload;
    if (outcome.status === 'busy' || (outcome.status === 'interrupted' && this.#stop.signal.aborted)) {
      // Nothing ran, or this worker stopped it: due as it was, another worker takes it.
      next = { ...payload, paused: false };
    } else {
      const failures = outcome.status === 'failed' ? payload.failures + 1 : 0;
      next = {
        ...payload,
        ...dueAfterEnd(schedule, due, covered, end, this.#random),
        failures,
        backoffUntil: failures > 0 ? end + backoffDelay(failures, this.#options.backoff, this.#random) : null,
        paused: outcome.status === 'paused_backfill',
      };
    }
    const runAt = next.paused
      ? end + PAUSED_POLL_MS
      : outcome.status === 'busy'
        ? end + BUSY_RETRY_MS
        : nextScheduledAt(next, next.backoffUntil);
    if (runAt !== null) await this.#addJob(RUN_TASK, next, { key, runAt });
  }

  /**
   * Runs `fn` as one of this worker's jobs: listed in its heartbeat, stopped by its stop. Null when
   * the worker was taken for dead meanwhile: its job went to another worker, so nothing is queued
   * again from here.
   */
  async #tracked(
    helpers: JobHelpers,
    stream: string,
    mode: string,
    fn: (signal: AbortSignal) => Promise<ScheduledRunOutcome>,
  ): Promise<ScheduledRunOutcome | null> {
    // Two jobs of one stream (its schedule's and a trigger's, or a sync's and a reconcile's) may
    // start side by side on this worker's slots: the lease would let the second take over from the
    // first (one holder per worker) and fence it off. The second waits, as for another process.
    for (const job of this.#running.values())
      if (job.stream === stream) return { status: 'busy', error: null };
    return this.#asJob(
      helpers,
      { job: helpers.job.key ?? `${RUN_TASK}:${helpers.job.id}`, stream, mode },
      async (abort) => {
        const outcome = await fn(abort.signal);
        this.#lastOutcome.set(stream, {
          status: outcome.status,
          endedAt: new Date().toISOString(),
          error: outcome.error,
        });
        return this.#expelled(abort) ? null : outcome;
      },
    );
  }

  /**
   * Runs `fn` as one of this worker's jobs: in `#running` (its heartbeat and `syncline workers` list
   * it) while it runs, its abort controller aborted by this worker's stop (or by being taken for
   * dead: `ExpelledError` as the reason).
   */
  async #asJob<T>(
    helpers: JobHelpers,
    entry: { readonly job: string; readonly stream: string | null; readonly mode: string },
    fn: (abort: AbortController) => Promise<T>,
  ): Promise<T> {
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    const id = helpers.job.id;
    this.#running.set(id, { ...entry, startedAt: new Date().toISOString(), abort });
    this.#publishRunning();
    this.#changed();
    try {
      return await fn(abort);
    } finally {
      this.#stop.signal.removeEventListener('abort', onStop);
      this.#running.delete(id);
      this.#publishRunning();
      this.#changed();
    }
  }

  /** Delivers to one sink for a slice of time, then hands it back to the queue. */
  readonly #deliverTask: Task = async (raw, helpers) => {
    const { name } = raw as { name: string };
    const deliver = this.#options.deliver;
    if (!deliver || !this.#options.deliveries.includes(name)) {
      throw new NotFoundError(
        `no sink or destination "${name}" in this worker's config; another worker may deliver to it`,
      );
    }
    this.#options.onJobStart?.('deliver', Date.now() - helpers.job.run_at.getTime());
    const expelled = await this.#asJob(
      helpers,
      { job: `deliver:${name}`, stream: null, mode: 'deliver' },
      async (abort) => {
        const slice = setTimeout(() => abort.abort(), this.#options.deliverySliceMs ?? DELIVERY_SLICE_MS);
        try {
          await deliver(name, abort.signal);
        } finally {
          clearTimeout(slice);
        }
        return this.#expelled(abort);
      },
    );
    // Stopped: its runner ended before the job is handed back, so two never deliver at once.
    if (!expelled) await this.#addJob(DELIVER_TASK, { name }, { key: `deliver:${name}`, runAt: Date.now() });
  };

  #runnerEnded(): void {
    if (this.#stop.signal.aborted) return;
    this.#options.log.error(
      { queue: this.#queueSchema },
      'the job queue stopped this worker (its queue was migrated by a newer Syncline): it takes no more jobs; upgrade it and start it again',
    );
    void this.stop();
  }

  /** Whether this job's worker was taken for dead while it ran (then its job is another's now). */
  #expelled(abort: AbortController): boolean {
    return abort.signal.reason instanceof ExpelledError;
  }

  /**
   * The jobs the cluster lacks: a `sync:<stream>` per scheduled stream and a `deliver:<name>` per
   * sink. Under a transaction-scoped advisory lock, and only where no job of that key exists at all
   * (a locked one runs: adding beside it would run it twice).
   */
  async #seed(): Promise<void> {
    const now = Date.now();
    const wanted: { task: string; key: string; payload: object; runAt: number }[] = [];
    for (const schedule of this.#schedules.values()) {
      if (!schedule.sync && !schedule.reconcile) continue;
      const due = firstDueTimes(schedule, now, this.#random);
      const runAt = nextScheduledAt(due);
      if (runAt === null) continue;
      const payload: ScheduledPayload = {
        stream: schedule.stream,
        scheduled: true,
        ...due,
        failures: 0,
        backoffUntil: null,
        paused: false,
      };
      wanted.push({ task: RUN_TASK, key: `sync:${schedule.stream}`, payload, runAt });
    }
    for (const name of this.#options.deliveries) {
      wanted.push({ task: DELIVER_TASK, key: `deliver:${name}`, payload: { name }, runAt: now });
    }
    if (wanted.length === 0) return;
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `syncline:seed:${this.#queueSchema}`,
      ]);
      const { rows } = await client.query<{ key: string }>(
        `SELECT key FROM "${this.#queueSchema}".jobs WHERE key = ANY($1::text[])`,
        [wanted.map((w) => w.key)],
      );
      const present = new Set(rows.map((r) => r.key));
      const missing = wanted.filter((w) => !present.has(w.key));
      for (const w of missing) {
        await client.query(
          `SELECT "${this.#queueSchema}".add_job($1, $2::json, run_at => $3::timestamptz, job_key => $4)`,
          [w.task, JSON.stringify(w.payload), new Date(w.runAt).toISOString(), w.key],
        );
      }
      await client.query('COMMIT');
      if (missing.length > 0) {
        this.#options.log.debug({ jobs: missing.map((w) => w.key) }, 'queued the jobs the cluster lacked');
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async #addJob(task: string, payload: object, at: { key: string | null; runAt: number }): Promise<void> {
    try {
      await this.#pool.query(
        `SELECT "${this.#queueSchema}".add_job($1, $2::json, run_at => $3::timestamptz, job_key => $4, job_key_mode => 'replace')`,
        [task, JSON.stringify(payload), new Date(at.runAt).toISOString(), at.key],
      );
    } catch (error) {
      // Not a worker: the queue is created by the first worker to start; without one, nothing
      // would take the job either.
      const code = (error as { code?: string }).code;
      if (this.#options.member === false && (code === '3F000' || code === '42883' || code === '42P01')) {
        throw new ConfigError(
          `the cluster has no job queue ("${this.#queueSchema}") yet: start a worker (\`syncline run\`) on this store to run what is asked here`,
        );
      }
      throw error;
    }
    this.#wakeAt(at.runAt);
  }

  /**
   * The queue tells idle runners of a job when it is added, not when a job added for later falls
   * due: they would find it only at their next poll (up to `pollIntervalMs` late). So the worker
   * that knows a due time (it queued the job, or read it in the queue) sends the queue's own
   * notification then, and the runners of every worker look at once.
   */
  #wakeAt(ms: number): void {
    const now = Date.now();
    if (ms <= now + 5 || this.#stop.signal.aborted || this.#wakes.has(ms)) return;
    if (ms - now > 2 * STATUS_EVERY_MS + 1000) return; // read again before then; woken from that read
    const timer = setTimeout(() => {
      this.#wakes.delete(ms);
      if (this.#stop.signal.aborted) return;
      void this.#pool.query(`SELECT pg_notify('jobs:insert', '{"count":1}')`).catch(() => undefined); // the runners' poll is the net under it
    }, ms - now);
    timer.unref();
    this.#wakes.set(ms, timer);
  }

  /**
   * Beats this worker's heartbeat and takes the dead ones. A heartbeat that finds this worker's row
   * gone means the others took it for dead (it went silent past its timeout) and gave its jobs to
   * other workers: its runs in progress are stopped (their writes would be fenced off anyway) and
   * it joins again.
   */
  #heartbeat(): Promise<void> {
    this.#beat ??= (async () => {
      const { cluster, worker, log } = this.#options;
      try {
        const running = [...this.#running.values()].map(({ job, mode, startedAt }) => ({
          job,
          mode,
          startedAt,
        }));
        const alive = await cluster.heartbeat(worker.id, { queueWorkers: [...this.#queueWorkers], running });
        if (!alive && !this.#stop.signal.aborted) {
          log.error(
            { worker: worker.id, timeoutMs: worker.timeoutMs },
            `this worker went longer than service.workerTimeout without a heartbeat and the cluster took it for dead: ` +
              'its jobs went to other workers; stopping its runs in progress and joining again',
          );
          for (const job of this.#running.values()) job.abort.abort(new ExpelledError());
          await cluster.registerWorker(worker);
          await cluster.heartbeat(worker.id, { queueWorkers: [...this.#queueWorkers], running: [] });
        }
        // A worker of this machine whose process certainly ended (kill -9) is taken at once, not
        // after its timeout: its successor here picks its jobs up without waiting.
        const gone = (await cluster.listWorkers())
          .filter((w) => w.id !== worker.id && holderIsDead(w.id))
          .map((w) => w.id);
        const taken = await cluster.takeDeadWorkers(gone);
        if (taken.length > 0) {
          log.warn(
            { workers: taken },
            'took workers without a heartbeat for dead: their jobs and streams go to live workers',
          );
        }
      } catch (error) {
        log.warn({ err: describeError(error) }, 'worker heartbeat failed; trying again at the next beat');
      }
    })().finally(() => {
      this.#beat = null;
    });
    return this.#beat;
  }

  /**
   * Records the jobs this worker runs soon after they change (at most every 500 ms), so `syncline
   * workers` shows short runs too, not only those caught by a heartbeat.
   */
  #publishRunning(): void {
    if (this.#publishing || this.#stop.signal.aborted) return;
    this.#publishing = setTimeout(() => {
      this.#publishing = null;
      const running = [...this.#running.values()].map(({ job, mode, startedAt }) => ({
        job,
        mode,
        startedAt,
      }));
      void this.#options.cluster
        .heartbeat(this.#options.worker.id, { queueWorkers: [...this.#queueWorkers], running })
        .catch(() => undefined); // the next heartbeat records it
    }, 500);
    this.#publishing.unref();
  }

  /**
   * The queue's runners stop (and set the process's exit code to 57) when told of a breaking
   * migration on the channel `worker:migrate`; but a notification reaches every listener of the
   * database, so installing the queue of another store of the same database (another schema) would
   * stop this worker's runners for good while it still beats as alive. The notice reaches them only
   * when this worker's own queue has a breaking migration newer than the revision it started on.
   */
  #screenMigrationNotices(client: pg.PoolClient): void {
    const emit = client.emit.bind(client);
    client.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== 'notification' || (args[0] as pg.Notification).channel !== 'worker:migrate') {
        return emit(event, ...args);
      }
      void this.#newestMigration(true)
        .then((breaking) => {
          const known = this.#queueRevision;
          if (known !== null && breaking !== null && breaking > known) emit(event, ...args);
        })
        .catch(() => undefined);
      return true;
    }) as typeof client.emit;
  }

  /** The newest migration (or newest breaking one) of this worker's queue schema. */
  async #newestMigration(breaking: boolean): Promise<number | null> {
    const { rows } = await this.#pool.query<{ id: number | null }>(
      `SELECT max(id) AS id FROM "${this.#queueSchema}".migrations${breaking ? ' WHERE breaking' : ''}`,
    );
    return rows[0]?.id ?? null;
  }

  /** Reads the queue's jobs for the configured streams and what other workers run, for `status()`. */
  async #refresh(): Promise<void> {
    try {
      const { rows } = await this.#pool.query<{
        key: string;
        run_at: Date;
        locked: boolean;
        payload: RunPayload | null;
      }>(
        `SELECT key, run_at, locked_at IS NOT NULL AS locked, payload
           FROM "${this.#queueSchema}"._private_jobs
          WHERE key LIKE 'sync:%' OR key LIKE 'trigger:%'`,
      );
      const jobs = new Map<string, QueuedJob[]>();
      for (const row of rows) {
        const stream = row.key.startsWith('sync:') ? row.key.slice(5) : row.key.split(':')[1]!;
        const list = jobs.get(stream) ?? [];
        list.push({ key: row.key, runAt: row.run_at.getTime(), locked: row.locked, payload: row.payload });
        jobs.set(stream, list);
      }
      const elsewhere = new Map<string, RunningJob>();
      for (const w of await this.#options.cluster.listWorkers()) {
        if (w.id === this.#options.worker.id || !w.live) continue;
        for (const job of w.running) {
          const stream = /^(?:sync|trigger):([^:]+)/.exec(job.job)?.[1];
          if (stream) elsewhere.set(stream, job);
        }
      }
      this.#jobs = jobs;
      this.#elsewhere = elsewhere;
      for (const list of jobs.values()) for (const job of list) if (!job.locked) this.#wakeAt(job.runAt);
      this.#changed();
    } catch (error) {
      this.#options.log.debug(
        { err: describeError(error) },
        'could not read the job queue; the status shown is older',
      );
    }
  }

  #changed(): void {
    try {
      this.#options.onChange?.();
    } catch (error) {
      this.#options.log.warn({ err: error }, `scheduler: onChange threw: ${describeError(error)}`);
    }
  }
}

/** Why a job was aborted: the cluster took its worker for dead. */
class ExpelledError extends Error {
  constructor() {
    super('the cluster took this worker for dead');
  }
}

/** The queue's log lines into ours: its errors and warnings as such, the rest at debug. */
function queueLogger(log: Logger): QueueLogger {
  return new QueueLogger(() => (level, message, meta) => {
    const fields = { queue: true, ...(meta?.['error'] ? { err: describeError(meta['error']) } : {}) };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else log.debug(fields, message);
  });
}
