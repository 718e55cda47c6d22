import type { SinkStatus } from '../core/sink.ts';
import type { RecordedAction, RecordVersion, WorkerView } from '../core/store.ts';
import type {
  ChangeRow,
  Json,
  RunCounters,
  RunMode,
  RunRecord,
  RunRequest,
  RunStatus,
  StoredDeadLetter,
} from '../core/types.ts';
import type { SseChannel } from '../sinks/sse/sse-channel.ts';
import type { DestinationOutcomeName } from './destination-tally.ts';
import type { SinkReplayOutcome } from './sink-replay.ts';
import type { WebhookIntake } from './webhook-intake.ts';
import type { WebhookState } from './webhook-status.ts';

/**
 * The types `syncline run` (the service) is assembled from: the scheduler, the metrics and the HTTP
 * API each implement or consume one of these, so each can be built and tested on its own.
 */

/**
 * `Schedule` and `StreamSchedule` live in core (config/ resolves them, and may not import runtime/);
 * re-exported here, where the service's parts look for them.
 */
export type { Schedule, StreamSchedule } from '../core/schedule.ts';

/**
 * What the scheduler knows of a stream. `queued`: due, waiting for a slot; `backing_off`: its runs
 * keep failing, the next one waits longer; `paused`: the backfill breaker stopped it, no scheduled
 * run until it is approved.
 */
export type SchedulerState = 'idle' | 'queued' | 'running' | 'backing_off' | 'paused';

export interface ScheduledStreamStatus {
  readonly stream: string;
  readonly state: SchedulerState;
  /** `every 30s`, `cron 0 2 * * * (Europe/Paris)`, or null (runs only when triggered). */
  readonly schedule: string | null;
  readonly reconcileSchedule: string | null;
  /** ISO time of the next scheduled run (sync or reconcile, whichever comes first), null if none. */
  readonly nextRunAt: string | null;
  readonly nextRunMode: RunMode | null;
  /** The run in progress. */
  readonly running: { readonly mode: RunMode; readonly startedAt: string } | null;
  /** Runs that failed in a row; 0 after a run that did not fail. */
  readonly consecutiveFailures: number;
  /** While backing off: when the next run may start. */
  readonly backoffUntil: string | null;
  /** How the last run this process started ended. */
  readonly lastOutcome: {
    readonly status: RunOutcomeStatus;
    readonly endedAt: string;
    readonly error: string | null;
  } | null;
}

/** How a run ended, as the scheduler sees it (`busy`: another worker held the stream). */
export type RunOutcomeStatus = Exclude<RunStatus, 'running'> | 'busy';

/** What `trigger` did with a request. */
export interface TriggerResult {
  /** `started` now, `queued` behind the run in progress or for a free slot. */
  readonly state: 'started' | 'queued';
  readonly stream: string;
  readonly mode: RunMode;
}

/** The scheduler as the API and the metrics see it. */
export interface SchedulerHandle {
  status(): ScheduledStreamStatus[];
  /**
   * Runs the stream as soon as it is free (after its run in progress) and a slot is. In a cluster,
   * queues it for whichever worker is free (asynchronously).
   */
  trigger(stream: string, request: RunRequest): TriggerResult | Promise<TriggerResult>;
  /** Lifts a pause (the backfill breaker): scheduled runs go on. */
  resume(stream: string): void;
  /** Streams due but not started (waiting for a slot). */
  queueDepth(): number;
  /** Started and not stopping. */
  readonly running: boolean;
}

/**
 * What starts runs as streams fall due: the in-process `Scheduler` (SQLite: one machine), or the
 * `ClusterScheduler` (PostgreSQL: every `syncline run` on the store shares one job queue).
 */
export interface RunScheduler extends SchedulerHandle {
  start(): void | Promise<void>;
  /** Starts no more runs; resolves once the runs in progress have ended. */
  stop(): Promise<void>;
}

/** The metrics as the API serves them. */
export interface MetricsHandle {
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/**
 * `GET /v1/streams`: one stream as the service sees it: the scheduler's view of it (`idle` for a
 * stream the config no longer has), its last run and what the store says.
 */
export interface StreamView
  extends Pick<
    ScheduledStreamStatus,
    | 'stream'
    | 'state'
    | 'schedule'
    | 'reconcileSchedule'
    | 'nextRunAt'
    | 'nextRunMode'
    | 'consecutiveFailures'
    | 'backoffUntil'
  > {
  readonly lastRun: {
    readonly id: string;
    readonly mode: RunMode;
    readonly status: RunStatus;
    readonly startedAt: string;
    readonly endedAt: string | null;
    readonly counters: RunCounters;
    readonly error: string | null;
  } | null;
  /** Now minus the newest cursor value, when it reads as a time. */
  readonly lagSeconds: number | null;
  /** Now minus the end of the last successful run. */
  readonly freshnessSeconds: number | null;
  readonly records: number;
  readonly failedRecords: number;
  readonly checkpoint: Json;
  /** A webhook stream's inbox backlog and the drift its last reconciliation found. */
  readonly webhook?: WebhookState;
}

/**
 * What the HTTP API asks of the running service. Unknown streams throw `NotFoundError`; bad input
 * throws `ConfigError` (400).
 */
/** A sink's or destination's runner as `GET /v1/sinks` lists it. */
export type SinkView = SinkStatus & {
  /** `destination`: one of the config's `destinations:`; `sink`: a webhook, redis or nats sink. */
  readonly kind: 'sink' | 'destination';
  /** A destination's records per outcome since the service started. */
  readonly writes?: Readonly<Record<DestinationOutcomeName, number>>;
  /** A destination's retried and refused records per record attempted in the last 5 minutes; null if none. */
  readonly errorRate?: number | null;
};

/** The door an action came through: the HTTP API or the dashboard (the CLI records its own). */
export type ActionBy = 'api' | 'dashboard';

export interface ServiceControl {
  streams(): Promise<StreamView[]>;
  runs(stream: string, limit: number): Promise<RunRecord[]>;
  /** Newest first; only open ones unless `all`; only those with `ids` when given. */
  failed(query: {
    stream?: string;
    limit: number;
    all?: boolean;
    ids?: readonly number[];
  }): Promise<StoredDeadLetter[]>;
  /*
   * The actions (`trigger`, `approve`, `reset`, `replay`, `ignore`, `resumeSink`, `replaySink`) each
   * record what they did in the store's action log once they succeeded; `by` names the door that
   * asked (default `api`).
   */
  /**
   * Sets open dead letters aside (`syncline failed ignore`): of `ids`, or every open one of
   * `stream`; one of the two is needed (`ConfigError`). They stay, listed with `all`.
   */
  ignore(
    query: { stream?: string; ids?: readonly number[] },
    by?: ActionBy,
  ): Promise<{
    readonly ignored: number;
    readonly message: string;
  }>;
  trigger(stream: string, mode: 'sync' | 'reconcile', by?: ActionBy): Promise<TriggerResult>;
  approve(stream: string, by?: ActionBy): Promise<{ readonly approved: boolean; readonly message: string }>;
  reset(stream: string, by?: ActionBy): Promise<{ readonly message: string }>;
  /** Queues a replay of open dead letters: of `ids`, or of a stream, or of every stream. */
  replay(
    query: { stream?: string; ids?: number[] },
    by?: ActionBy,
  ): Promise<{ readonly queued: TriggerResult[] }>;
  /** The operator's actions, newest first: those on `stream`, or all of them (null). */
  actions(stream: string | null, limit: number): Promise<RecordedAction[]>;
  /**
   * The stream's newest change-log rows, newest first, at most `limit`, each with its key's data as
   * it is now (`ChangeRow.data`: null when deleted). Fewer when retention pruned older rows.
   */
  changes(stream: string, limit: number): Promise<ChangeRow[]>;
  /**
   * The versions of one record of a stream that keeps history (`history: true`), newest first, at
   * most `limit`. `NotFoundError` for an unknown stream, a stream without history, or a key the
   * history has no version of.
   */
  recordVersions(stream: string, key: string, limit: number): Promise<RecordVersion[]>;
  /** The cluster's workers (a PostgreSQL store), oldest first; empty for a store of one machine (SQLite). */
  workers(): Promise<WorkerView[]>;
  /** The config's sinks and destinations as they deliver (empty without either). */
  sinks(): Promise<SinkView[]>;
  /**
   * The highest seq the change log ever assigned (0 before the first change): a sink's lag is this
   * minus its offset.
   */
  changeLogHighestSeq(): Promise<number>;
  /** Resumes a paused sink (one that failed longer than its `pauseAfter`); unknown: `NotFoundError`. */
  resumeSink(name: string, by?: ActionBy): Promise<{ readonly resumed: boolean; readonly message: string }>;
  /**
   * Redelivers the open dead letters of a sink or destination (all, or `ids`) now, as `syncline
   * sinks replay` does; unknown sink or letter: `NotFoundError`; the sse sink: `ConfigError`.
   */
  replaySink(
    name: string,
    query: { ids?: readonly number[] },
    by?: ActionBy,
  ): Promise<SinkReplayOutcome & { readonly message: string }>;
  /** Store reachable and scheduler running. */
  ready(): Promise<{ readonly ready: boolean; readonly checks: Record<string, string> }>;
  metrics(): Promise<{ readonly contentType: string; readonly body: string }>;
  /** The sse sink's channel (`GET /v1/events`), or null when the config has no sse sink. */
  events?(): SseChannel | null;
  /** The receivers of webhook streams (`POST /v1/webhooks/:name`), or null when the config has none. */
  webhooks?(): WebhookIntake | null;
  /**
   * Calls `listener` when this service's state changes (`change`: a run started or ended, a page
   * committed, the scheduler moved) and once when it stops (`stop`); returns the unsubscribe. The
   * dashboard's live feed uses it; what other processes do, it reads.
   */
  watch?(listener: (event: 'change' | 'stop') => void): () => void;
}
