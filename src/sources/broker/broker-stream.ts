import { parseDuration } from '../../core/cursor-time.ts';
import { ConfigError, FatalError } from '../../core/errors.ts';
import { redactUrl } from '../../core/redact-url.ts';
import type { Page, Reject, SourceArgs } from '../../core/source.ts';
import type { StreamDefinition } from '../../core/stream-definition.ts';
import type { Checkpoint } from '../../core/types.ts';
import type { BrokerMessage, BrokerReader, PositionCodec } from './broker-reader.ts';
import type { BrokerStreamConfig, NatsBrokerConfig, RedisBrokerConfig } from './broker-stream-config.ts';
import { validateBrokerStream } from './broker-stream-schema.ts';
import { type MessageContext, readMessage } from './change-event.ts';
import { natsPositions, natsReader } from './nats-reader.ts';
import { redisPositions, redisReader } from './redis-reader.ts';

const PAGE_SIZE = 500;
const IDLE = '1s';
const NATS_URL = 'nats://127.0.0.1:4222';
const REDIS_URL = 'redis://127.0.0.1:6379';
/** How long a stopped or failed run's source waits for the commits in flight, to acknowledge them. */
const STOP_GRACE_MS = 2000;

/** The resolved settings of one broker stream. */
interface BrokerSettings {
  readonly stream: string;
  readonly format: 'debezium' | 'json';
  readonly keyFields: readonly string[];
  readonly recordPath: string | null;
  readonly pageSize: number;
  readonly idleMs: number;
  readonly positions: PositionCodec;
  /** The reader of one run (given the secret reader). */
  readonly reader: (secret: (name: string) => string) => BrokerReader;
  /** The consumer (NATS) or group (Redis), as `syncline check` shows it. */
  readonly consumer: string;
}

/**
 * What a run keeps across the source's restarts within it (the engine calls the source again
 * after a transient error, from the last page handed over, with the same signal and listeners):
 * the committed position and the messages waiting for a commit to be acknowledged.
 */
interface RunState {
  /** Digits of the last committed position; null: none yet. */
  committed: string | null;
  /** The same position as the checkpoint holds it. */
  committedLabel: string | null;
  /** Read (applied or dropped as in flight), acknowledged once a commit covers them; by position. */
  readonly awaiting: Map<string, BrokerMessage>;
  /** Acknowledgements sent and not yet settled. */
  acking: Promise<void>;
  /** Called when `committed` moves. */
  readonly waiters: Set<() => void>;
}

const runs = new WeakMap<AbortSignal, RunState>();

/**
 * A stream of change events from a broker (`broker.stream({...})`, or `type: broker` in YAML/JSON):
 * Debezium change events or plain JSON events, from a NATS JetStream durable consumer or a Redis
 * Streams consumer group. A sync reads what the broker held when it started, from the committed
 * position on, in pages whose checkpoint is the position of their last message, and ends (when
 * caught up, after waiting `idle` for news). A message is acknowledged to the broker only after the page holding it committed
 * (`SourceArgs.onCommitted`); one redelivered at or before the committed position is dropped and
 * acknowledged. Versions make reordered and repeated events harmless: an older event of a key is
 * skipped as stale.
 */
export function brokerStream<R extends object>(config: BrokerStreamConfig<R>): StreamDefinition<R> {
  validateBrokerStream(config);
  const settings = resolve(config as unknown as BrokerStreamConfig);
  const { broker: _b, format: _f, record: _r, pageSize: _p, idle: _i, ...own } = config;
  const nats = 'nats' in config.broker ? config.broker.nats : null;
  const redis = 'redis' in config.broker ? config.broker.redis : null;
  const secrets = nats
    ? [nats.urlEnv, nats.tokenEnv, nats.userEnv, nats.passwordEnv].filter((s): s is string => s !== undefined)
    : redis?.urlEnv
      ? [redis.urlEnv]
      : [];
  const reads = nats
    ? `NATS JetStream ${nats.url ? redactUrl(nats.url) : nats.urlEnv ? `$${nats.urlEnv}` : NATS_URL} stream ${nats.stream}${nats.subject ? ` subject ${nats.subject}` : ''}, ${settings.consumer}`
    : `Redis ${redis!.url ? redactUrl(redis!.url) : redis!.urlEnv ? `$${redis!.urlEnv}` : REDIS_URL} stream ${redis!.key}, ${settings.consumer}`;
  return {
    ...own,
    ...(config.format === 'debezium' ? { version: '__version', deleted: '__deleted' } : {}),
    source: (args) => readBroker(settings, args),
    sourceInfo: {
      kind: 'broker',
      reads: `${config.format === 'debezium' ? 'Debezium change events' : 'JSON events'} from ${reads}`,
      pagination: `${settings.pageSize} messages a page`,
      incremental: `from the committed ${nats ? 'stream sequence' : 'entry id'}; acknowledged after commit`,
      ...(secrets.length > 0 ? { secrets } : {}),
    },
  } as StreamDefinition<R>;
}

function resolve(config: BrokerStreamConfig): BrokerSettings {
  const where = (field: string) => `stream "${config.name}": ${field}`;
  if (config.format === 'debezium') {
    if (config.version !== undefined) {
      throw new ConfigError(
        `${where('version')}: a Debezium stream takes its version from the events (source.lsn, else ts_ms) as the __version field; remove version`,
      );
    }
    if (config.deleted !== undefined) {
      throw new ConfigError(
        `${where('deleted')}: a Debezium stream marks deletes (op d) itself as the __deleted field; remove deleted`,
      );
    }
    if (config.record !== undefined) {
      throw new ConfigError(
        `${where('record')}: record is for format json; a Debezium event holds its record in after (before for a delete)`,
      );
    }
  }
  const keyFields = (Array.isArray(config.key) ? config.key : [config.key]) as string[];
  const base = {
    stream: config.name,
    format: config.format,
    keyFields,
    recordPath: config.record ?? null,
    pageSize: config.pageSize ?? PAGE_SIZE,
    idleMs: parseDuration(config.idle ?? IDLE),
  };
  if ('nats' in config.broker) {
    const n = config.broker.nats;
    const durable = n.durable ?? `syncline_${config.name}`;
    const reader = (secret: (name: string) => string) =>
      natsReader({
        stream: config.name,
        url: n.urlEnv ? secret(n.urlEnv) : (n.url ?? NATS_URL),
        auth: natsAuth(n, secret),
        jsStream: n.stream,
        subject: n.subject ?? null,
        durable,
        start: n.start ?? 'first',
        ackWaitMs: parseDuration(n.ackWait ?? '60s'),
        maxAckPending: n.maxAckPending ?? 10_000,
      });
    return {
      ...base,
      positions: natsPositions(config.name, n.stream),
      reader,
      consumer: `consumer ${durable}`,
    };
  }
  const r: RedisBrokerConfig = config.broker.redis;
  const group = r.group ?? `syncline_${config.name}`;
  const reader = (secret: (name: string) => string) =>
    redisReader({
      stream: config.name,
      url: r.urlEnv ? secret(r.urlEnv) : (r.url ?? REDIS_URL),
      key: r.key,
      group,
      consumer: r.consumer ?? 'syncline',
      start: r.start ?? 'first',
      field: r.field ?? null,
    });
  return { ...base, positions: redisPositions(config.name, r.key), reader, consumer: `group ${group}` };
}

function natsAuth(
  n: NatsBrokerConfig,
  secret: (name: string) => string,
): { token: string } | { user: string; pass: string } | null {
  if (n.tokenEnv) return { token: secret(n.tokenEnv) };
  if (n.userEnv && n.passwordEnv) return { user: secret(n.userEnv), pass: secret(n.passwordEnv) };
  return null;
}

/**
 * One sync: open the reader at the committed position, read pages until past the position the
 * broker held at the open (or until nothing comes within `idle`), then wait for the last page's
 * commit (its acknowledgements are sent then) and close.
 */
async function* readBroker(s: BrokerSettings, args: SourceArgs): AsyncGenerator<Page> {
  if (args.request.mode !== 'sync') {
    throw new FatalError(
      `stream "${s.stream}": a broker stream can only sync (it reads change events once, in order); it cannot ${args.request.mode}: the broker holds changes, not the current records`,
      { stream: s.stream },
    );
  }
  const handedLabel = s.positions.labelOf(args.checkpoint);
  let state = runs.get(args.signal);
  if (!state) {
    const fresh: RunState = {
      committed: handedLabel === null ? null : s.positions.digitsOf(handedLabel),
      committedLabel: handedLabel,
      awaiting: new Map(),
      acking: Promise.resolve(),
      waiters: new Set(),
    };
    state = fresh;
    runs.set(args.signal, fresh);
    args.onCommitted?.((checkpoint) => committed(s, fresh, checkpoint));
  }
  const run = state;
  /** Digits of the last position handed over: everything up to it is committed or in flight. */
  let handed = handedLabel === null ? null : s.positions.digitsOf(handedLabel);
  /** Digits of the last page the engine took (its `yield` returned): it commits unless the run fails. */
  let taken = handed;
  const committedLabel = run.committedLabel;
  const reader = s.reader(args.secret);
  let skipped = 0;
  try {
    for (const warning of await reader.open(committedLabel)) args.log.warn({ stream: s.stream }, warning);
    args.log.info({ stream: s.stream, reads: reader.shown, from: committedLabel }, 'broker stream reading');
    for (;;) {
      if (args.signal.aborted) return;
      const messages = await reader.read(s.pageSize, s.idleMs, args.signal);
      if (messages.length === 0) break;
      args.report({ apiCalls: 1, bytes: messages.reduce((n, m) => n + (m.body?.length ?? 0), 0) });
      const records: unknown[] = [];
      const rejects: Reject[] = [];
      const settledNow: BrokerMessage[] = [];
      let last: BrokerMessage | null = null;
      let keyless = 0;
      for (const message of messages) {
        if (run.committed !== null && message.position <= run.committed) {
          settledNow.push(message); // committed by an earlier run: its acknowledgement was lost
          continue;
        }
        run.awaiting.set(message.position, message);
        if (handed !== null && message.position <= handed) continue; // in a page in flight
        last = message;
        if (message.body === null && message.missing) {
          args.log.warn({ stream: s.stream, where: message.where }, message.missing);
        }
        const read = readMessage(message.body, context(s, message));
        if (read.kind === 'record') records.push(read.record);
        else if (read.kind === 'reject') {
          rejects.push({ reason: read.reason, payload: read.record ?? message.body });
          if (read.record) keyless++;
        } else skipped++;
      }
      if (records.length === 0 && rejects.length >= 2 && keyless === rejects.length) {
        // Not bad messages but a wrong `key`: stop before the page commits, as for any stream.
        throw new FatalError(
          `stream "${s.stream}": no message of a page (${rejects.length}) has the stream's key (${s.keyFields.join(', ')}), e.g. ${rejects[0]!.reason}; the page was not committed nor acknowledged. Fix the stream's key and run again`,
          { stream: s.stream },
        );
      }
      if (settledNow.length > 0) await Promise.all(settledNow.map((m) => m.ack()));
      // What the broker held when the sync started is read: the sync ends with this page, rather
      // than chase a producer that never pauses (the next sync takes what came since).
      const through = messages.at(-1)!.position >= (reader.end ?? '');
      if (last === null) {
        if (through) break;
        continue;
      }
      handed = last.position;
      yield {
        records,
        ...(rejects.length > 0 ? { rejects } : {}),
        checkpoint: s.positions.checkpointOf(last.label),
      };
      taken = handed;
      if (through) break;
    }
    if (skipped > 0) args.log.info({ stream: s.stream, skipped }, 'empty messages (tombstones) skipped');
    // The last pages commit after the source ends: stay connected to acknowledge them.
    if (taken !== null) await untilCommitted(run, taken, args.signal);
  } finally {
    // Stopped or failed: commits handed over still land (the engine waits for them); stay a moment
    // to acknowledge them, else they are redelivered to the next run, which drops them as committed.
    if (taken !== null && (run.committed === null || run.committed < taken)) {
      await untilCommitted(run, taken, AbortSignal.timeout(STOP_GRACE_MS));
    }
    await run.acking;
    await reader.close();
  }
}

function context(s: BrokerSettings, message: BrokerMessage): MessageContext {
  return {
    format: s.format,
    keyFields: s.keyFields,
    recordPath: s.recordPath,
    where: message.where,
    positionDigits: message.position,
  };
}

/** A commit landed: acknowledge what it covers. */
function committed(s: BrokerSettings, run: RunState, checkpoint: Checkpoint): void {
  const label = s.positions.labelOf(checkpoint);
  if (label === null) return;
  const digits = s.positions.digitsOf(label);
  if (run.committed === null || digits > run.committed) {
    run.committed = digits;
    run.committedLabel = label;
  }
  const due: BrokerMessage[] = [];
  for (const [position, message] of run.awaiting) {
    if (position <= digits) {
      due.push(message);
      run.awaiting.delete(position);
    }
  }
  if (due.length > 0) {
    run.acking = run.acking.then(() => Promise.all(due.map((m) => m.ack()))).then(() => undefined);
  }
  for (const wake of run.waiters) wake();
}

/** Resolves once `position` is committed, or the run stops (a failed commit aborts it). */
function untilCommitted(run: RunState, position: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (signal.aborted || (run.committed !== null && run.committed >= position)) {
        run.waiters.delete(check);
        signal.removeEventListener('abort', check);
        resolve();
      }
    };
    run.waiters.add(check);
    signal.addEventListener('abort', check, { once: true });
    check();
  });
}
