import {
  type ResolvedConfig,
  type ResolvedDeliveringSink,
  type ResolvedDestination,
  type ResolvedSink,
  type ResolvedSinkCommon,
  readCredentialEnv,
  readSinkEnv,
  readSinkSecret,
} from '../config/load-config.ts';
import type { Destination } from '../core/destination.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import { type Sink, type SinkStatus, sinkConsumer } from '../core/sink.ts';
import type { ChangeFeed, CommitWatcher, DeadLetterStore, DestinationMapStore } from '../core/store.ts';
import type { Json, Logger } from '../core/types.ts';
import { runSink, type SinkRunner, wakeOnCommit } from '../sinks/sink-runner.ts';

/** How often a sink looks for changes committed by another process when nothing woke it. */
export const SINK_POLL_MS = 500;

/**
 * Builds one sink of the config, by its `type`: the registry of sink kinds. Each kind's module is
 * loaded when a sink of that kind is built, so its client library (redis, undici, nats) costs nothing to
 * the commands that deliver nothing.
 */
export async function buildSink(sink: ResolvedSink): Promise<Sink> {
  switch (sink.type) {
    case 'webhook': {
      const { createWebhookSink } = await import('../sinks/webhook/webhook-sink.ts');
      return createWebhookSink({
        name: sink.name,
        urls: sink.urls,
        secret: readSinkSecret(sink.name, sink.secretEnv),
        batchSize: sink.batchSize,
        timeoutMs: sink.timeoutMs,
        allowPrivateTargets: sink.allowPrivateTargets,
        ...(sink.rateLimit !== null ? { rateLimit: sink.rateLimit } : {}),
      });
    }
    case 'redis': {
      const { createRedisSink } = await import('../sinks/redis/redis-sink.ts');
      return createRedisSink({
        name: sink.name,
        url: sink.url,
        keyTemplate: sink.keyTemplate,
        maxLen: sink.maxLen,
      });
    }
    case 'nats': {
      // Credentials are read before the client library loads: a missing one is a ConfigError.
      const auth =
        sink.auth === null
          ? null
          : 'tokenEnv' in sink.auth
            ? { token: readSinkEnv(sink.name, 'tokenEnv', sink.auth.tokenEnv) }
            : {
                user: readSinkEnv(sink.name, 'userEnv', sink.auth.userEnv),
                pass: readSinkEnv(sink.name, 'passwordEnv', sink.auth.passwordEnv),
              };
      const { createNatsSink } = await import('../sinks/nats/nats-sink.ts');
      return createNatsSink({
        name: sink.name,
        url: sink.url,
        subjectTemplate: sink.subjectTemplate,
        auth,
        createStream: sink.createStream,
        ackTimeoutMs: sink.ackTimeoutMs,
      });
    }
    case 'sse':
      // No runner delivers to it: `syncline run` serves it at GET /v1/events (server/sse-route.ts).
      throw new ConfigError(
        `sink "${sink.name}" is an sse sink: \`syncline run\` serves it, nothing builds it`,
      );
  }
}

/** Whether a runner delivers to the sink: every kind but `sse`, which `syncline run` serves. */
export function isDeliveringSink(sink: ResolvedSink): sink is ResolvedDeliveringSink {
  return sink.type !== 'sse';
}

/**
 * The config's sinks a runner delivers to, named in `names` (all of them when empty); an unknown
 * name, or the name of the sse sink (served by `syncline run`, no runner), is a ConfigError.
 */
export function selectSinks(config: ResolvedConfig, names: readonly string[]): ResolvedDeliveringSink[] {
  if (config.sinks.length === 0) {
    throw new ConfigError(`${config.file}: defines no sinks; add a sinks: list (see README "Events")`);
  }
  for (const name of names) {
    const sink = config.sinks.find((s) => s.name === name);
    if (!sink) {
      throw new ConfigError(
        `unknown sink "${name}"; the config's sinks are ${config.sinks.map((s) => s.name).join(', ')}`,
      );
    }
    if (!isDeliveringSink(sink)) {
      throw new ConfigError(
        `sink "${name}" is an sse sink: \`syncline run\` serves it at GET /v1/events; \`sinks run\` has nothing to deliver for it`,
      );
    }
  }
  const delivering = config.sinks.filter(isDeliveringSink);
  if (delivering.length === 0) {
    throw new ConfigError(
      `${config.file}: defines no sinks that \`sinks run\` delivers to: the sse sink is served by \`syncline run\` (GET /v1/events)`,
    );
  }
  return delivering.filter((s) => names.length === 0 || names.includes(s.name));
}

/** The config's sinks, running. */
export interface RunningSinks {
  status(): SinkStatus[];
  /** Resumes the paused sink of that name (all paused ones without a name). */
  resume(name?: string): void;
  /** Resolves once every runner ended; rejects with the first fatal error. */
  readonly done: Promise<void>;
  /**
   * Stops every runner (the deliveries in flight are cancelled) and closes the sinks, unless
   * `close: false` (they run again later: `PreparedSinks.close` closes them at the end).
   */
  stop(options?: { readonly close?: boolean }): Promise<void>;
}

/**
 * What runners use of the store: the change feed, dead letters for refused events, and the
 * external-ID map of destinations.
 */
export type SinkStore = ChangeFeed &
  Pick<DeadLetterStore, 'addSinkDeadLetters'> &
  Pick<DestinationMapStore, 'lookupMappings' | 'confirmDestinationWrites'> &
  Partial<CommitWatcher>;

export interface StartSinksArgs {
  /** The sinks to run; an sse sink among them is left out (`syncline run` serves it, no runner). */
  readonly sinks: readonly ResolvedSink[];
  /** The destinations to run beside them. Default none. */
  readonly destinations?: readonly ResolvedDestination[];
  readonly events?: SyncEventBus;
  readonly log: Logger;
}

/** The consumer name of destination `name` in `syncline_consumers`. */
export function destinationConsumer(name: string): string {
  return `destination:${name}`;
}

/** One runner to start: a sink, or a destination (whose sink needs the store, so is made at start). */
interface Prepared extends ResolvedSinkCommon {
  readonly consumer: string;
  /** Set for a destination: its map rows commit with its offset. */
  readonly destination: boolean;
  make(store: SinkStore): Sink;
}

/**
 * Builds every sink (its targets checked, its secret read), so a bad one stops a start with its
 * one-line error before anything runs; `start(feed)` then runs a runner per sink, each woken by
 * commits on `events` or every `SINK_POLL_MS`.
 */
/** Sinks and destinations built and checked, to start over a store. */
export interface PreparedSinks {
  /** Runs every sink (or those named in `only`) over the store. */
  start(store: SinkStore, only?: readonly string[]): RunningSinks;
  /** Closes every sink a `start` made (a cluster's slices stop runners with `{ close: false }`). */
  close(): Promise<void>;
}

export async function prepareSinks(args: StartSinksArgs): Promise<PreparedSinks> {
  const prepared: Prepared[] = [];
  for (const config of args.sinks.filter(isDeliveringSink)) {
    const sink = await buildSink(config);
    prepared.push({ ...config, consumer: sinkConsumer(config.name), destination: false, make: () => sink });
  }
  for (const config of args.destinations ?? []) {
    const make = await prepareDestination(config, args.events);
    prepared.push({
      ...config,
      consumer: destinationConsumer(config.name),
      kinds: [],
      data: true,
      destination: true,
      make,
    });
  }
  const made = new Set<Sink>();
  return {
    start: (store, only) =>
      runBuilt(args, store, only ? prepared.filter((p) => only.includes(p.name)) : prepared, made),
    async close() {
      await Promise.allSettled([...made].map((sink) => sink.close()));
      made.clear();
    },
  };
}

/**
 * Builds one destination's sink over `store` (its URL checked, its token read), as `prepareSinks`
 * builds the live one: what `syncline sinks replay <destination>` redelivers through.
 */
export async function buildDestination(
  config: ResolvedDestination,
  store: Pick<DestinationMapStore, 'lookupMappings'>,
  events?: SyncEventBus,
): Promise<Sink> {
  return (await prepareDestination(config, events))(store);
}

/**
 * Checks a destination (an HTTP one's URL and token) and returns what makes its sink over a store.
 * A custom destination's records carry the record itself when it has no map.
 */
async function prepareDestination(
  config: ResolvedDestination,
  events: SyncEventBus | undefined,
): Promise<(store: Pick<DestinationMapStore, 'lookupMappings'>) => Sink> {
  const owner = `destination "${config.name}"`;
  const [{ createHttpDestination }, { createDestinationSink }, { compileRecordMap }] = await Promise.all([
    import('../sinks/destinations/http-destination.ts'),
    import('../sinks/destinations/destination-sink.ts'),
    import('../sinks/destinations/record-map.ts'),
  ]);
  let destination: Destination;
  if (config.type === 'custom') destination = config.destination;
  else {
    const token = config.tokenEnv === null ? null : readCredentialEnv(owner, 'tokenEnv', config.tokenEnv);
    destination = await createHttpDestination({
      name: config.name,
      baseUrl: config.baseUrl,
      headers: { ...config.headers, ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      operations: config.operations,
      idempotencyHeader: config.idempotencyHeader,
      timeoutMs: config.timeoutMs,
      allowPrivateTargets: config.allowPrivateTargets,
      concurrency: config.concurrency,
      ...(config.rateLimit !== null ? { rateLimit: config.rateLimit } : {}),
    });
  }
  const map = config.map === null ? async (record: Json) => record : compileRecordMap(config.map, owner);
  return (store) =>
    createDestinationSink({
      name: config.name,
      mode: config.mode,
      map,
      destination,
      lookup: (stream, keys) => store.lookupMappings({ destination: config.name, stream, keys }),
      onOutcome: (outcome, count) => {
        if (count > 0) events?.emit('destination:written', { destination: config.name, outcome, count });
      },
    });
}

function runBuilt(
  args: StartSinksArgs,
  store: SinkStore,
  prepared: readonly Prepared[],
  made: Set<Sink>,
): RunningSinks {
  const built = prepared.map((config) => ({ config, sink: config.make(store) }));
  for (const { sink } of built) made.add(sink);
  const abort = new AbortController();
  // Commits of other processes (a `syncline sync`, another worker) wake the runners at once where
  // the store can tell (PostgreSQL LISTEN); the poll stays as the net under it.
  const waiting = new Set<() => void>();
  const watch = store.watchCommits?.(() => {
    for (const wake of [...waiting]) wake();
  });
  const otherCommits = (listener: () => void) => {
    waiting.add(listener);
    return () => waiting.delete(listener);
  };
  const runners: SinkRunner[] = built.map(({ config, sink }) =>
    runSink({
      feed: store,
      onRejected: async (rejected) => {
        for (const { event, reason } of rejected) {
          args.log.warn(
            { sink: config.name, id: event.id, reason },
            config.destination
              ? 'a destination refused a record: dead-lettered'
              : 'a sink refused an event: dead-lettered',
          );
        }
        await store.addSinkDeadLetters({
          sink: config.name,
          at: new Date().toISOString(),
          letters: rejected.map(({ event, reason }) => ({
            stream: event.stream,
            key: event.key,
            eventId: event.id,
            runId: event.run,
            reason,
            payload: JSON.stringify(event),
          })),
        });
      },
      sink,
      consumer: config.consumer,
      ...(config.destination
        ? {
            confirm: ({ seq, writes, at }) =>
              store.confirmDestinationWrites({
                destination: config.name,
                consumer: config.consumer,
                seq,
                at,
                writes,
              }),
          }
        : {}),
      filter: { streams: config.streams, kinds: config.kinds },
      data: config.data,
      batchSize: config.batchSize,
      wake: wakeOnCommit(args.events, SINK_POLL_MS, watch ? otherCommits : undefined),
      stop: abort.signal,
      retry: config.retry,
      pauseAfterMs: config.pauseAfterMs,
      log: args.log,
      ...(args.events ? { events: args.events } : {}),
    }),
  );
  const done = Promise.all(
    runners.map((r, i) =>
      r.done.catch((error: unknown) => {
        args.log.error({ sink: built[i]!.config.name, err: describeError(error) }, 'sink stopped');
        throw error;
      }),
    ),
  ).then(() => undefined);
  done.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return {
    status: () => runners.map((r) => r.status()),
    resume(name) {
      for (const r of runners) if (name === undefined || r.status().name === name) r.resume();
    },
    done,
    async stop(options) {
      abort.abort();
      await Promise.allSettled(runners.map((r) => r.done));
      const closing = options?.close === false ? [] : built.map(({ sink }) => sink.close());
      for (const { sink } of built) if (options?.close !== false) made.delete(sink);
      await Promise.allSettled([...closing, watch?.close()]);
    },
  };
}
