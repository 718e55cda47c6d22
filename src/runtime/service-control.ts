import type { ResolvedConfig } from '../config/load-config.ts';
import { readEnvSecret } from '../config/load-config.ts';
import { ConfigError, describeError, NotFoundError } from '../core/errors.ts';
import type { SinkStatus } from '../core/sink.ts';
import type { Store } from '../core/store.ts';
import type { ChangeRow, Logger, RunRecord, StreamStatus } from '../core/types.ts';
import type { SseChannel } from '../sinks/sse/sse-channel.ts';
import { type ActionToRecord, recordAction } from './action-log.ts';
import { captureSlots, readCaptureSlots } from './cdc-status.ts';
import type { DestinationTally } from './destination-tally.ts';
import { lagMs } from './lag.ts';
import type {
  ActionBy,
  MetricsHandle,
  ScheduledStreamStatus,
  SchedulerHandle,
  ServiceControl,
  StreamView,
  TriggerResult,
} from './service-types.ts';
import { describeSinkReplay, replayableSink, replaySinkLetters } from './sink-replay.ts';
import { approveStream, replayTargets, resetStream } from './stream-operations.ts';
import type { WebhookIntake } from './webhook-intake.ts';
import { webhookState } from './webhook-status.ts';

export interface ServiceControlDeps {
  readonly store: Store;
  readonly config: ResolvedConfig;
  readonly scheduler: SchedulerHandle;
  readonly metrics: MetricsHandle;
  /** The sinks the service runs, once started (null before, or without sinks). */
  readonly sinks?: () => { status(): SinkStatus[]; resume(name?: string): void } | null;
  /** The sse sink's channel (`GET /v1/events`), null without an sse sink. */
  readonly events?: SseChannel | null;
  /** The receivers of the config's webhook streams, null without any. */
  readonly webhooks?: WebhookIntake | null;
  /** Announces the service's changes and its stop (`ServiceControl.watch`). */
  readonly watch?: ServiceControl['watch'];
  /** What each destination's writes came to (totals, error rate), for `sinks()`. */
  readonly destinationTally?: DestinationTally;
  /** The clock for lag and freshness (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number;
  /** How long `ready()` waits for the store before it says it is not reachable. Default 2 s. */
  readonly readyTimeoutMs?: number;
  /** Where a failure to record an action in the action log is warned of. */
  readonly log?: Pick<Logger, 'warn'>;
}

/** Run statuses after which the store held what the source had when the run ended. */
const FRESH_STATUSES = ['ok', 'partial'] as const;

/**
 * What the HTTP API asks of the running service, over the store, the scheduler and the metrics.
 * Stream names the API acts on are checked against the config (the scheduler runs only those);
 * names it reads about may also be streams the store still has but the config dropped.
 */
export function createServiceControl(deps: ServiceControlDeps): ServiceControl {
  const { store, config, scheduler, metrics } = deps;
  const now = deps.now ?? Date.now;
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2000;
  const configured = config.streams.map((s) => s.name);

  /** The stream, if the config defines it (what the scheduler can run); else `NotFoundError`. */
  function requireConfigured(stream: string): string {
    if (configured.includes(stream)) return stream;
    throw new NotFoundError(
      `unknown stream "${stream}"; ${config.file} defines: ${configured.join(', ') || 'no streams'}`,
      { stream },
    );
  }

  /** A stream the config defines or the store has; `NotFoundError` for any other name. */
  async function requireKnown(stream: string): Promise<void> {
    if (configured.includes(stream) || (await store.getState(stream))) return;
    throw new NotFoundError(`unknown stream "${stream}": neither ${config.file} nor the store has it`, {
      stream,
    });
  }

  /**
   * When the stream's last run that left it fresh ended. Its last run usually did (no query); else
   * the newest `ok` and the newest `partial` run, two indexed queries at most per stream.
   */
  async function lastFreshAt(stream: string, lastRun: RunRecord | null): Promise<string | null> {
    if (lastRun?.endedAt && (FRESH_STATUSES as readonly string[]).includes(lastRun.status)) {
      return lastRun.endedAt;
    }
    if (!lastRun) return null;
    const newest = await Promise.all(
      FRESH_STATUSES.map((status) => store.listRuns({ stream, status, limit: 1 })),
    );
    const ends = newest.flatMap((runs) => runs.flatMap((r) => (r.endedAt ? [r.endedAt] : [])));
    return ends.sort().at(-1) ?? null;
  }

  function view(
    name: string,
    stored: StreamStatus | undefined,
    scheduled: ScheduledStreamStatus | undefined,
    freshAt: string | null,
    at: number,
  ): StreamView {
    const run = stored?.lastRun ?? null;
    const lag = lagMs(stored?.newestCursor ?? null, at);
    return {
      stream: name,
      state: scheduled?.state ?? 'idle',
      schedule: scheduled?.schedule ?? null,
      reconcileSchedule: scheduled?.reconcileSchedule ?? null,
      nextRunAt: scheduled?.nextRunAt ?? null,
      nextRunMode: scheduled?.nextRunMode ?? null,
      lastRun: run && {
        id: run.runId,
        mode: run.mode,
        status: run.status,
        startedAt: run.startedAt,
        endedAt: run.endedAt,
        counters: run.counters,
        error: run.error,
      },
      lagSeconds: lag === null ? null : Math.round(lag / 1000),
      freshnessSeconds: freshAt === null ? null : Math.max(0, Math.round((at - Date.parse(freshAt)) / 1000)),
      records: stored?.records ?? 0,
      failedRecords: stored?.openFailures ?? 0,
      consecutiveFailures: scheduled?.consecutiveFailures ?? 0,
      backoffUntil: scheduled?.backoffUntil ?? null,
      checkpoint: stored?.checkpoint ?? null,
    };
  }

  const control: ServiceControl = {
    async streams() {
      const stored = new Map((await store.listStreams()).map((s) => [s.stream, s]));
      const scheduled = new Map(scheduler.status().map((s) => [s.stream, s]));
      const names = [...new Set([...configured, ...stored.keys(), ...scheduled.keys()])].sort();
      const freshAt = await Promise.all(
        names.map((name) => lastFreshAt(name, stored.get(name)?.lastRun ?? null)),
      );
      const at = now();
      const webhookStreams = new Set(config.streams.filter((s) => s.receive).map((s) => s.name));
      const slots = await readCaptureSlots(captureSlots(config.streams), readEnvSecret);
      const slotOf = new Map(slots.flatMap((slot) => slot.streams.map((stream) => [stream, slot] as const)));
      return Promise.all(
        names.map(async (name, i) => {
          const shown = view(name, stored.get(name), scheduled.get(name), freshAt[i]!, at);
          const slot = slotOf.get(name);
          if (slot) {
            const { slot: slotName, lagBytes, active, warning, error } = slot;
            return { ...shown, cdc: { slot: slotName, lagBytes, reading: active, warning, error } };
          }
          if (!webhookStreams.has(name)) return shown;
          return { ...shown, webhook: await webhookState(store, name, stored.get(name)?.checkpoint ?? null) };
        }),
      );
    },

    async runs(stream, limit) {
      await requireKnown(stream);
      return store.listRuns({ stream, limit });
    },

    async changes(stream, limit) {
      await requireKnown(stream);
      return newestChanges(store, stream, limit);
    },

    async recordVersions(stream, key, limit) {
      await requireKnown(stream);
      const versions = await store.readHistory(stream, key, limit);
      if (versions === null) {
        throw new NotFoundError(
          `stream "${stream}" keeps no history of its records; set \`history: true\` on it to keep every version`,
          { stream },
        );
      }
      if (versions.length === 0) {
        throw new NotFoundError(`stream "${stream}" has no version of the record "${key}" in its history`, {
          stream,
        });
      }
      return versions;
    },

    async failed({ stream, limit, all, ids }) {
      if (stream !== undefined) await requireKnown(stream);
      return store.listDeadLetters({
        ...(stream !== undefined ? { stream } : {}),
        ...(ids !== undefined ? { ids } : {}),
        limit,
        all: all ?? false,
      });
    },

    async ignore({ stream, ids }) {
      if (stream === undefined && (ids === undefined || ids.length === 0)) {
        throw new ConfigError('ignore needs a stream or ids: which dead letters should be ignored?');
      }
      if (stream !== undefined) await requireKnown(stream);
      const ignored = await store.ignoreDeadLetters({
        ...(stream !== undefined ? { stream } : {}),
        ...(ids !== undefined ? { ids } : {}),
        at: new Date(now()).toISOString(),
      });
      return {
        ignored,
        message: `ignored ${ignored} open dead letter${ignored === 1 ? '' : 's'}${stream !== undefined ? ` of "${stream}"` : ''}`,
      };
    },

    async changeLogHighestSeq() {
      return (await store.changeLogBounds()).highestSeq;
    },

    async trigger(stream, mode) {
      return scheduler.trigger(requireConfigured(stream), { mode });
    },

    async actions(stream, limit) {
      if (stream !== null) await requireKnown(stream);
      return store.listActions({ ...(stream !== null ? { stream } : {}), limit });
    },

    async workers() {
      return (await store.cluster?.().listWorkers()) ?? [];
    },

    async sinks() {
      const destinations = new Set(config.destinations.map((d) => d.name));
      const kind = (name: string) => (destinations.has(name) ? ('destination' as const) : ('sink' as const));
      const tally = deps.destinationTally;
      const writes = (name: string) =>
        destinations.has(name) && tally
          ? { writes: tally.totals(name), errorRate: tally.errorRate(name) }
          : {};
      const running = deps.sinks?.() ?? null;
      if (running) return running.status().map((s) => ({ ...s, kind: kind(s.name), ...writes(s.name) }));
      // Not started yet: each configured sink a runner delivers to and each destination, before
      // its first read (the sse sink has no runner, no offset: GET /v1/events serves it).
      return [...config.sinks.filter((sink) => sink.type !== 'sse'), ...config.destinations].map((sink) => ({
        name: sink.name,
        kind: kind(sink.name),
        state: 'stopped' as const,
        offset: 0,
        lastError: null,
        failingSince: null,
        ...writes(sink.name),
      }));
    },
    async resumeSink(name) {
      if (!config.sinks.some((sink) => sink.name === name)) {
        throw new NotFoundError(
          `unknown sink "${name}"; the config's sinks: ${config.sinks.map((s) => s.name).join(', ') || 'none'}`,
        );
      }
      const running = deps.sinks?.() ?? null;
      const before = running?.status().find((s) => s.name === name);
      if (!running || before?.state !== 'paused') {
        return { resumed: false, message: `sink "${name}" is not paused; nothing to resume` };
      }
      running.resume(name);
      return {
        resumed: true,
        message: `resumed sink "${name}": it delivers again from offset ${before.offset}`,
      };
    },
    async replaySink(name, query) {
      if (
        !config.sinks.some((sink) => sink.name === name) &&
        !config.destinations.some((d) => d.name === name)
      ) {
        throw new NotFoundError(
          `unknown sink "${name}"; the config's sinks: ${config.sinks.map((s) => s.name).join(', ') || 'none'}` +
            (config.destinations.length > 0
              ? `; its destinations: ${config.destinations.map((d) => d.name).join(', ')}`
              : ''),
        );
      }
      const outcome = await replaySinkLetters({
        store,
        sink: replayableSink(config, name),
        ...(query.ids ? { ids: query.ids } : {}),
      });
      return { ...outcome, message: describeSinkReplay(outcome) };
    },
    async approve(stream) {
      const outcome = await approveStream(store, stream);
      // The scheduler keeps its own pause (it stops scheduling a paused stream); lifting it is what
      // lets the approved run start. A stream the config dropped has no schedule to resume.
      if (configured.includes(stream)) scheduler.resume(stream);
      return {
        approved: outcome.approved,
        message: outcome.paused
          ? `${outcome.message}; its next ${outcome.paused.mode} applies it`
          : outcome.message,
      };
    },

    async reset(stream) {
      await resetStream(store, stream);
      return {
        message: `reset "${stream}": its next run starts from the beginning; records are kept and re-reads write only changes`,
      };
    },

    async replay(query) {
      if (query.stream !== undefined) requireConfigured(query.stream);
      const targets = await replayTargets(
        store,
        query,
        configured,
        config.destinations.map((d) => d.name),
      );
      // Check every target before queuing any, so a refused request queues nothing.
      for (const target of targets) requireConfigured(target.stream);
      const queued: TriggerResult[] = await Promise.all(
        targets.map((target) =>
          scheduler.trigger(target.stream, {
            mode: 'replay',
            ...(target.letters ? { letters: target.letters } : {}),
          }),
        ),
      );
      return { queued };
    },

    async ready() {
      const checks: Record<string, string> = {};
      let ready = true;
      try {
        // One indexed read of the state table: reaches the database without counting records.
        await withTimeout(store.getState(configured[0] ?? 'syncline_ready'), readyTimeoutMs, 'the store');
        checks['store'] = 'ok';
      } catch (error) {
        ready = false;
        checks['store'] = describeError(error);
      }
      if (scheduler.running) checks['scheduler'] = 'ok';
      else {
        ready = false;
        checks['scheduler'] = 'not running';
      }
      return { ready, checks };
    },

    metrics() {
      return metrics.render();
    },

    events() {
      return deps.events ?? null;
    },

    webhooks() {
      return deps.webhooks ?? null;
    },

    ...(deps.watch ? { watch: deps.watch } : {}),
  };
  return withActionLog(control, (action, by = 'api') =>
    recordAction(store, { ...action, origin: by }, deps.log, new Date(now())),
  );
}

/**
 * `control` whose actions each record what they did in the store's action log once they succeeded
 * (`by`: the door that asked, `api` by default). A refused action records nothing; a failure to
 * record is the recorder's warning, never the action's.
 */
function withActionLog(
  control: ServiceControl,
  record: (action: Omit<ActionToRecord, 'origin'>, by?: ActionBy) => Promise<void>,
): ServiceControl {
  return {
    ...control,
    async trigger(stream, mode, by) {
      const result = await control.trigger(stream, mode);
      await record({ stream, action: mode, detail: describeTrigger(result) }, by);
      return result;
    },
    async approve(stream, by) {
      const answer = await control.approve(stream);
      await record({ stream, action: 'approve', detail: answer.message }, by);
      return answer;
    },
    async reset(stream, by) {
      const answer = await control.reset(stream);
      await record({ stream, action: 'reset', detail: answer.message }, by);
      return answer;
    },
    async replay(query, by) {
      const answer = await control.replay(query);
      // One entry per stream a replay was queued for, so each stream's history shows its own.
      const letters = query.ids ? ` (letters ${query.ids.join(', ')})` : '';
      for (const queued of answer.queued) {
        await record(
          { stream: queued.stream, action: 'replay', detail: describeTrigger(queued) + letters },
          by,
        );
      }
      return answer;
    },
    async ignore(query, by) {
      const answer = await control.ignore(query);
      const letters = query.ids ? ` (letters ${query.ids.join(', ')})` : '';
      await record({ stream: query.stream ?? null, action: 'ignore', detail: answer.message + letters }, by);
      return answer;
    },
    async resumeSink(name, by) {
      const answer = await control.resumeSink(name);
      await record({ stream: null, target: name, action: 'resume_sink', detail: answer.message }, by);
      return answer;
    },
    async replaySink(name, query, by) {
      const answer = await control.replaySink(name, query);
      await record({ stream: null, target: name, action: 'replay_sink', detail: answer.message }, by);
      return answer;
    },
  };
}

/** One line for the action log: what a trigger did. */
function describeTrigger(result: TriggerResult): string {
  return `${result.state} a ${result.mode} of "${result.stream}"`;
}

/** `promise`, or a rejection naming `what` once `ms` passed (the promise itself goes on). */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The stream's newest `limit` change-log rows with their data, newest first. The log is read
 * forwards only, so it is read in windows of seqs going back from the newest, each twice as wide
 * as the last, until enough rows of the stream are found or the log's oldest row is reached.
 */
async function newestChanges(store: Store, stream: string, limit: number): Promise<ChangeRow[]> {
  const bounds = await store.changeLogBounds();
  if (bounds.newestSeq === null || bounds.oldestSeq === null || limit <= 0) return [];
  const floor = bounds.oldestSeq - 1;
  const found: ChangeRow[] = [];
  let high = bounds.newestSeq;
  let width = Math.max(limit * 4, 256);
  while (high > floor && found.length < limit) {
    const low = Math.max(floor, high - width);
    const rows = await store.readChanges({ afterSeq: low, limit: high - low, stream, withData: true });
    found.push(...rows.filter((r) => r.seq <= high).reverse());
    high = low;
    width *= 2;
  }
  return found.slice(0, limit);
}
