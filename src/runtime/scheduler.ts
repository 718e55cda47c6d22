import { describeError, InterruptedError, NotFoundError } from '../core/errors.ts';
import type { StreamSchedule } from '../core/schedule.ts';
import type { Logger, RunMode, RunRequest } from '../core/types.ts';
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
import type {
  RunOutcomeStatus,
  ScheduledStreamStatus,
  SchedulerHandle,
  SchedulerState,
  TriggerResult,
} from './service-types.ts';

/** Time as the scheduler sees it: real timers by default, a fake one in tests. */
export interface SchedulerClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

/** How one run ended, as `SchedulerOptions.run` reports it. */
export interface ScheduledRunOutcome {
  readonly status: RunOutcomeStatus;
  readonly error: string | null;
}

export interface SchedulerOptions {
  readonly schedules: readonly StreamSchedule[];
  /** Runs at once across all streams (`sync.concurrency`). */
  readonly concurrency: number;
  /** Runs one stream; the caller aborts runs in progress through its own signal. */
  readonly run: (stream: string, request: RunRequest) => Promise<ScheduledRunOutcome>;
  /** After failures: `min(max, base * 2^(failures - 1))`, less up to a tenth at random. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly clock?: SchedulerClock;
  /** In [0, 1): jitter. Default `Math.random`. */
  readonly random?: () => number;
  readonly log?: Logger;
  /** Called after any change of state (a live table redraws on it). */
  readonly onChange?: () => void;
}

/**
 * Real timers. Not unreferenced: the timer is what keeps an idle service alive. The longest delay
 * `setTimeout` takes is 2^31-1 ms (about 24.8 days); a later due time is reached in steps.
 */
const REAL_CLOCK: SchedulerClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, Math.min(ms, MAX_TIMER_MS)),
  clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One stream as the scheduler tracks it. Times are epoch ms; null: not due at all. */
interface Entry extends DueTimes {
  readonly stream: string;
  readonly schedule: StreamSchedule;
  running: { readonly mode: RunMode; readonly startedAt: number } | null;
  /** The schedules the run in progress stands for, whose next due time it decides when it ends. */
  covered: { sync: boolean; reconcile: boolean };
  consecutiveFailures: number;
  backoffUntil: number | null;
  paused: boolean;
  lastOutcome: ScheduledStreamStatus['lastOutcome'];
}

/** A run asked for by hand (`trigger`), waiting for its stream and a slot. */
interface ManualRequest {
  readonly entry: Entry;
  readonly request: RunRequest;
}

/**
 * Starts runs as streams fall due (`syncline run`), on one timer for the earliest due time.
 *
 * - A stream never has two runs at once (a sync and a reconcile neither), and at most
 *   `concurrency` runs go at once. Runs asked for by hand go first, in the order asked; then the
 *   most overdue stream.
 * - `every`: due an interval after its last run started, or when it ended if it ran longer (one
 *   pending run at most, no pile-up); at start, due at once (plus jitter). `cron`: due at the first
 *   cron time after its last run ended; at start, at the next cron time. A reconciliation schedule
 *   works alike and is first due one interval after start (a full scan at every restart would be
 *   costly; `reconcile.fullRefresh` is what survives restarts). A reconciliation due with a sync
 *   runs instead of it: its full scan reads what the sync would.
 * - A `failed` run makes the stream wait (`backing_off`) at least the backoff after it ended; any
 *   other outcome resets the count. `paused_backfill` pauses its scheduled runs until `resume` or
 *   a trigger. A `run` that rejects is a bug: logged, counted as failed, never fatal here.
 */
export class Scheduler implements SchedulerHandle {
  readonly #options: SchedulerOptions;
  readonly #clock: SchedulerClock;
  readonly #random: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #manual: ManualRequest[] = [];
  #active = 0;
  #started = false;
  #stopping = false;
  #timer: unknown = null;
  #timerAt: number | null = null;
  #idle: (() => void) | null = null;
  #stopped: Promise<void> | null = null;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? REAL_CLOCK;
    this.#random = options.random ?? Math.random;
    for (const schedule of options.schedules) {
      this.#entries.set(schedule.stream, {
        stream: schedule.stream,
        schedule,
        syncDue: null,
        reconcileDue: null,
        running: null,
        covered: { sync: false, reconcile: false },
        consecutiveFailures: 0,
        backoffUntil: null,
        paused: false,
        lastOutcome: null,
      });
    }
  }

  /** Started and not stopping. */
  get running(): boolean {
    return this.#started && !this.#stopping;
  }

  /** Computes the first due times and starts what is due. Once; a stopped scheduler stays stopped. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const now = this.#clock.now();
    for (const entry of this.#entries.values()) {
      Object.assign(entry, firstDueTimes(entry.schedule, now, this.#random));
    }
    this.#dispatch();
    this.#changed();
  }

  /**
   * Starts no more runs and resolves once the runs in progress have ended (the caller aborts them
   * through its own signal). Requests still waiting are dropped.
   */
  stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#stopping = true;
    this.#manual.length = 0;
    this.#clearTimer();
    this.#stopped =
      this.#active === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#idle = resolve;
          });
    this.#changed();
    return this.#stopped;
  }

  status(): ScheduledStreamStatus[] {
    const now = this.#clock.now();
    return [...this.#entries.values()].map((entry) => {
      const due = this.#scheduledDue(entry);
      const iso = (ms: number) => new Date(ms).toISOString();
      return {
        stream: entry.stream,
        state: this.#state(entry, now),
        schedule: entry.schedule.sync ? describeSchedule(entry.schedule.sync) : null,
        reconcileSchedule: entry.schedule.reconcile ? describeSchedule(entry.schedule.reconcile) : null,
        nextRunAt: due === null ? null : iso(due),
        nextRunMode: due === null ? null : this.#scheduledMode(entry, due),
        running: entry.running ? { mode: entry.running.mode, startedAt: iso(entry.running.startedAt) } : null,
        consecutiveFailures: entry.consecutiveFailures,
        backoffUntil:
          entry.backoffUntil !== null && entry.backoffUntil > now ? iso(entry.backoffUntil) : null,
        lastOutcome: entry.lastOutcome,
      };
    });
  }

  /**
   * Runs the stream as soon as it and a slot are free, before any scheduled run, whatever its
   * backoff or pause. A sync or reconcile already waiting for the stream is not asked twice.
   */
  trigger(stream: string, request: RunRequest): TriggerResult {
    const entry = this.#entry(stream);
    if (this.#stopping) {
      throw new InterruptedError(
        `stream "${stream}": the service is stopping and starts no more runs; ask again once it has restarted`,
        { stream },
      );
    }
    const waiting = this.#manual.some(
      (m) =>
        m.entry === entry &&
        m.request.mode === request.mode &&
        (request.mode === 'sync' || request.mode === 'reconcile'),
    );
    const queued: ManualRequest = { entry, request };
    if (!waiting) this.#manual.push(queued);
    this.#dispatch();
    this.#changed();
    const started = !waiting && !this.#manual.includes(queued);
    return { state: started ? 'started' : 'queued', stream, mode: request.mode };
  }

  /** Lifts a pause (the backfill breaker): scheduled runs go on, at once if one is overdue. */
  resume(stream: string): void {
    const entry = this.#entry(stream);
    if (!entry.paused) return;
    entry.paused = false;
    this.#dispatch();
    this.#changed();
  }

  /** Streams due (or asked for) but not started: waiting for a slot. */
  queueDepth(): number {
    const now = this.#clock.now();
    let depth = 0;
    for (const entry of this.#entries.values()) if (this.#state(entry, now) === 'queued') depth++;
    return depth;
  }

  #entry(stream: string): Entry {
    const entry = this.#entries.get(stream);
    if (!entry) {
      throw new NotFoundError(
        `no stream "${stream}" in the config; known: ${[...this.#entries.keys()].join(', ') || 'none'}`,
        { stream },
      );
    }
    return entry;
  }

  /** When the stream's next scheduled run may start (its backoff included); null: none. */
  #scheduledDue(entry: Entry): number | null {
    if (entry.paused) return null;
    return nextScheduledAt(entry, entry.backoffUntil);
  }

  /** What a scheduled run starting at `at` does: a reconciliation when one is due, else a sync. */
  #scheduledMode(entry: Entry, at: number): 'sync' | 'reconcile' {
    return scheduledMode(entry, at);
  }

  #state(entry: Entry, now: number): SchedulerState {
    if (entry.running) return 'running';
    if (this.#stopping) return 'idle';
    const due = this.#scheduledDue(entry);
    if (this.#manual.some((m) => m.entry === entry) || (due !== null && due <= now)) return 'queued';
    if (entry.paused) return 'paused';
    if (entry.backoffUntil !== null && entry.backoffUntil > now) return 'backing_off';
    return 'idle';
  }

  /** Starts what is due while slots are free, then sets the one timer for the next due time. */
  #dispatch(): void {
    if (!this.#started || this.#stopping) return;
    const now = this.#clock.now();
    while (this.#active < this.#options.concurrency) {
      const manual = this.#manual.findIndex((m) => m.entry.running === null);
      if (manual !== -1) {
        const [{ entry, request }] = this.#manual.splice(manual, 1) as [ManualRequest];
        entry.paused = false;
        this.#launch(entry, request, now);
        continue;
      }
      let next: Entry | null = null;
      let nextAt = Infinity;
      for (const entry of this.#entries.values()) {
        if (entry.running) continue;
        const due = this.#scheduledDue(entry);
        if (due !== null && due <= now && due < nextAt) {
          next = entry;
          nextAt = due;
        }
      }
      if (!next) break;
      this.#launch(next, { mode: this.#scheduledMode(next, now) }, now);
    }
    this.#arm(now);
  }

  /** One timer, for the earliest due time still ahead among streams that could start then. */
  #arm(now: number): void {
    let earliest = Infinity;
    for (const entry of this.#entries.values()) {
      if (entry.running) continue; // its end dispatches
      const due = this.#scheduledDue(entry);
      // Due already: waiting for a slot, which a run's end frees (and dispatches).
      if (due !== null && due > now && due < earliest) earliest = due;
    }
    if (earliest === this.#timerAt) return;
    this.#clearTimer();
    if (earliest === Infinity) return;
    this.#timerAt = earliest;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      this.#timerAt = null;
      this.#dispatch();
      this.#changed();
    }, earliest - now);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = null;
  }

  /**
   * Starts one run. The schedules it stands for (a sync covers a due sync; a reconciliation a due
   * sync and a due reconciliation) move on from its start; its end may move them again.
   */
  #launch(entry: Entry, request: RunRequest, now: number): void {
    const { due, covered } = coverDue(entry.schedule, entry, request.mode, now, this.#random);
    Object.assign(entry, due);
    entry.covered = covered;
    entry.running = { mode: request.mode, startedAt: now };
    entry.backoffUntil = null;
    this.#active++;
    this.#options.log?.debug({ stream: entry.stream, mode: request.mode }, 'scheduler: run starts');
    let run: Promise<ScheduledRunOutcome>;
    try {
      run = this.#options.run(entry.stream, request);
    } catch (error) {
      run = Promise.reject(error);
    }
    run
      .then(
        (outcome) => outcome,
        (error: unknown): ScheduledRunOutcome => {
          this.#options.log?.error(
            { stream: entry.stream, mode: request.mode, err: error },
            `scheduler: the run of stream "${entry.stream}" threw instead of reporting its outcome (a bug): ${describeError(error)}`,
          );
          return { status: 'failed', error: describeError(error) };
        },
      )
      .then((outcome) => this.#finish(entry, outcome));
  }

  /** Records how a run ended, moves the stream's due times, and starts what is due. */
  #finish(entry: Entry, outcome: ScheduledRunOutcome): void {
    const end = this.#clock.now();
    entry.running = null;
    this.#active--;
    entry.lastOutcome = {
      status: outcome.status,
      endedAt: new Date(end).toISOString(),
      error: outcome.error,
    };
    if (outcome.status === 'failed') {
      entry.consecutiveFailures++;
      entry.backoffUntil = end + backoffDelay(entry.consecutiveFailures, this.#options.backoff, this.#random);
    } else {
      entry.consecutiveFailures = 0;
    }
    if (outcome.status === 'paused_backfill') entry.paused = true;
    Object.assign(entry, dueAfterEnd(entry.schedule, entry, entry.covered, end, this.#random));
    entry.covered = { sync: false, reconcile: false };
    if (this.#stopping) {
      if (this.#active === 0) this.#idle?.();
    } else {
      this.#dispatch();
    }
    this.#changed();
  }

  #changed(): void {
    try {
      this.#options.onChange?.();
    } catch (error) {
      this.#options.log?.warn({ err: error }, `scheduler: onChange threw: ${describeError(error)}`);
    }
  }
}
