import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../../core/cursor-time.ts';
import { FatalError, TransientError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import { redactUrl } from '../../core/redact-url.ts';
import type { Page, SourceArgs } from '../../core/source.ts';
import type { AnyStreamDefinition, StreamDefinition } from '../../core/stream-definition.ts';
import type { Checkpoint, Json } from '../../core/types.ts';
import { httpStream } from '../http/http-stream.ts';
import type { HttpStreamConfig } from '../http/http-stream-config.ts';
import { FeedConnection, type FeedConnectionOptions, type FeedEvent } from './feed-connection.ts';
import type { WebSocketConfig, WebSocketStreamConfig } from './websocket-stream-config.ts';
import { validateWebSocketStream } from './websocket-stream-schema.ts';

/** The resolved `websocket` block. */
interface FeedSettings {
  readonly stream: string;
  readonly url: string;
  /** The URL as logs and messages show it. */
  readonly shownUrl: string;
  readonly subscribe: readonly unknown[];
  readonly records: string;
  readonly type: { readonly path: string; readonly values: ReadonlySet<unknown> } | null;
  readonly closed: string | null;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly maxAgeMs: number | null;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly flushMaxRecords: number;
  readonly flushMaxWaitMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly tokenEnv: string | null;
  readonly tokenQuery: boolean;
}

/** The longest the live loop sleeps without looking at the clock (the signal wakes it sooner). */
const IDLE_WAIT_MS = 60_000;

/**
 * A stream fed live by a WebSocket, with the same records read over REST (`poll`) after every
 * connect to fill what the socket missed. Only the REST reads move the checkpoint
 * (`{ poll: <http checkpoint> }`); live frames are applied in pages that carry it unchanged, so a
 * crash or a reconnect resumes from the last REST watermark, and records read again cost no writes
 * (their hash is unchanged). Reconciliations and backfills read the REST side only; a refresh reads
 * it by key.
 */
export function webSocketStream<R extends object>(config: WebSocketStreamConfig<R>): StreamDefinition<R> {
  validateWebSocketStream(config);
  const poll = httpStream({
    ...config.poll,
    name: config.name,
    key: config.key,
    ...(config.cursor !== undefined ? { cursor: config.cursor } : {}),
    ...(config.version !== undefined ? { version: config.version } : {}),
    ...(config.deleted !== undefined ? { deleted: config.deleted } : {}),
  } as HttpStreamConfig) as AnyStreamDefinition;
  const feed = resolveFeed(config.name, config.websocket);
  const { websocket: _w, poll: _p, ...own } = config;
  const pollInfo = poll.sourceInfo;
  const secrets = [...(feed.tokenEnv ? [feed.tokenEnv] : []), ...(pollInfo?.secrets ?? [])];
  return {
    ...own,
    source: (args) => (args.request.mode === 'sync' ? readLive(feed, poll, args) : poll.source(args)),
    ...(poll.fetchByKey ? { fetchByKey: poll.fetchByKey } : {}),
    sourceInfo: {
      kind: 'websocket',
      reads: `${feed.shownUrl} live, gap-filled by ${pollInfo?.reads ?? 'REST'}`,
      ...(pollInfo?.pagination ? { pagination: pollInfo.pagination } : {}),
      ...(pollInfo?.incremental ? { incremental: pollInfo.incremental } : {}),
      ...(secrets.length > 0 ? { secrets } : {}),
    },
  } as StreamDefinition<R>;
}

function resolveFeed(stream: string, w: WebSocketConfig): FeedSettings {
  const ms = (value: string | number | undefined, fallback: number) =>
    value === undefined ? fallback : parseDuration(value);
  const subscribe = w.subscribe === undefined ? [] : Array.isArray(w.subscribe) ? w.subscribe : [w.subscribe];
  return {
    stream,
    url: w.url,
    shownUrl: redactUrl(w.url),
    subscribe,
    records: w.records ?? 'data',
    type: w.type ? { path: w.type.path, values: new Set(w.type.values) } : null,
    closed: w.closed ?? null,
    heartbeatIntervalMs: ms(w.heartbeat?.interval, 15_000),
    heartbeatTimeoutMs: ms(w.heartbeat?.timeout, 30_000),
    maxAgeMs: w.maxConnectionAge === undefined ? null : parseDuration(w.maxConnectionAge),
    reconnectBaseMs: ms(w.reconnect?.base, 1000),
    reconnectMaxMs: ms(w.reconnect?.max, 30_000),
    flushMaxRecords: w.flush?.maxRecords ?? 500,
    flushMaxWaitMs: ms(w.flush?.maxWait, 1000),
    headers: w.headers ?? {},
    tokenEnv: w.tokenEnv ?? null,
    tokenQuery: w.tokenQuery ?? false,
  };
}

/** The REST part of a stored checkpoint: null at first. */
function pollCheckpointOf(checkpoint: Checkpoint, stream: string): Checkpoint {
  if (checkpoint === null) return null;
  if (typeof checkpoint === 'object' && !Array.isArray(checkpoint) && 'poll' in checkpoint) {
    return checkpoint['poll'] ?? null;
  }
  throw new FatalError(
    `stream "${stream}": the stored checkpoint is not a WebSocket stream's ({ poll: ... }); ` +
      `run \`syncline reset ${stream}\` to start it afresh`,
    { stream },
  );
}

/**
 * A sync run, long-lived: connect, subscribe (frames are buffered from here on), gap-fill over
 * REST from the last REST checkpoint, then apply live frames in pages; on any disconnect, again
 * from connect. Ends when the signal aborts or at the deadline, never otherwise.
 */
async function* readLive(s: FeedSettings, poll: AnyStreamDefinition, args: SourceArgs): AsyncGenerator<Page> {
  const { signal, log, deadline } = args;
  const ended = () => signal.aborted || (deadline !== null && Date.now() >= deadline);
  const token = s.tokenEnv === null ? null : args.secret(s.tokenEnv);
  const options: FeedConnectionOptions = {
    url: token !== null && s.tokenQuery ? withToken(s.url, token) : s.url,
    shownUrl: s.shownUrl,
    headers: { ...s.headers, ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    heartbeatIntervalMs: s.heartbeatIntervalMs,
    heartbeatTimeoutMs: s.heartbeatTimeoutMs,
    maxAgeMs: s.maxAgeMs,
    stream: s.stream,
    signal,
  };
  let pollCheckpoint = pollCheckpointOf(args.checkpoint, s.stream);
  let checkpoint: Checkpoint = args.checkpoint;
  let failures = 0;
  let connects = 0;
  while (!ended()) {
    let connection: FeedConnection;
    try {
      connection = await FeedConnection.open(options);
    } catch (error) {
      if (ended()) return;
      if (!(error instanceof TransientError)) throw error;
      failures++;
      const waitMs = backoffMs(s, failures);
      log.warn({ stream: s.stream, error: error.message, retryInMs: waitMs }, 'websocket connect failed');
      await pause(waitMs, args);
      continue;
    }
    connects++;
    const openedAt = Date.now();
    log.info({ stream: s.stream, url: s.shownUrl, connection: connects }, 'websocket connected');
    let closed: Extract<FeedEvent, { kind: 'closed' }> | null = null;
    try {
      for (const message of s.subscribe) connection.send(message);
      let records = 0;
      const rest = poll.source({ ...args, checkpoint: pollCheckpoint, request: { mode: 'sync' } });
      for await (const page of rest) {
        pollCheckpoint = page.checkpoint;
        checkpoint = { poll: page.checkpoint };
        records += page.records.length;
        yield {
          records: page.records,
          ...(page.tombstones ? { tombstones: page.tombstones } : {}),
          checkpoint,
        };
        if (ended()) return;
      }
      log.info({ stream: s.stream, records, buffered: connection.buffered }, 'websocket gap-fill done');
      closed = yield* readFrames(s, connection, checkpoint, args, ended);
    } finally {
      connection.close();
    }
    if (closed === null) return;
    log.info(
      { stream: s.stream, code: closed.code, reason: closed.reason, ageMs: Date.now() - openedAt },
      'websocket disconnected',
    );
    if (closed.planned) continue;
    if (Date.now() - openedAt >= s.reconnectMaxMs) failures = 0;
    failures++;
    await pause(backoffMs(s, failures), args);
  }
}

/**
 * Live frames in pages of at most `flush.maxRecords` records, each cut at the latest `flush.maxWait`
 * after its first record (or at once after a final one), all carrying `checkpoint`. Returns how the
 * connection closed, or null when the run ended.
 */
async function* readFrames(
  s: FeedSettings,
  connection: FeedConnection,
  checkpoint: Checkpoint,
  args: SourceArgs,
  ended: () => boolean,
): AsyncGenerator<Page, Extract<FeedEvent, { kind: 'closed' }> | null> {
  let batch: unknown[] = [];
  let firstAt = 0;
  let final = false;
  let ignored = 0;
  const cut = (): Page => {
    const page = { records: batch, checkpoint };
    batch = [];
    final = false;
    return page;
  };
  for (;;) {
    if (ended()) {
      if (batch.length > 0 && !args.signal.aborted) yield cut();
      return null;
    }
    const now = Date.now();
    let waitMs = batch.length > 0 ? Math.max(0, firstAt + s.flushMaxWaitMs - now) : IDLE_WAIT_MS;
    if (args.deadline !== null) waitMs = Math.min(waitMs, Math.max(0, args.deadline - now));
    const event = await connection.next(waitMs, args.signal);
    if (event?.kind === 'closed') {
      if (batch.length > 0) yield cut();
      return event;
    }
    if (event?.kind === 'message') {
      const records = recordsOf(s, event.text);
      if (records === null) {
        if (ignored++ === 0) args.log.debug({ stream: s.stream }, 'websocket frame without a record ignored');
      }
      for (const record of records ?? []) {
        if (batch.length === 0) firstAt = Date.now();
        batch.push(record);
        if (s.closed !== null && readPath(record, s.closed)) final = true;
      }
    }
    // A final record cuts the page once the frames already buffered are taken (a drained buffer
    // makes full pages, not one per final record).
    const due =
      batch.length > 0 && (Date.now() >= firstAt + s.flushMaxWaitMs || (final && connection.buffered === 0));
    if (batch.length >= s.flushMaxRecords || due) yield cut();
  }
}

/** The records of a frame (objects at `records`, of a frame of the right `type`), or null for none. */
function recordsOf(s: FeedSettings, text: string): unknown[] | null {
  let frame: unknown;
  try {
    frame = JSON.parse(text) as Json;
  } catch {
    return null;
  }
  if (s.type !== null && !s.type.values.has(readPath(frame, s.type.path))) return null;
  const found = readPath(frame, s.records);
  const list = Array.isArray(found) ? found : [found];
  const records = list.filter((r) => typeof r === 'object' && r !== null && !Array.isArray(r));
  return records.length > 0 ? records : null;
}

/** Full jitter: a random wait up to `base * 2^(failures-1)`, at most `max`. */
function backoffMs(s: FeedSettings, failures: number): number {
  const ceiling = Math.min(s.reconnectMaxMs, s.reconnectBaseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(Math.random() * ceiling);
}

/** Waits, returning early when the run is stopped or reaches its deadline. */
async function pause(ms: number, args: SourceArgs): Promise<void> {
  const capped = args.deadline === null ? ms : Math.min(ms, Math.max(0, args.deadline - Date.now()));
  await sleep(capped, undefined, { signal: args.signal }).catch(() => undefined);
}

function withToken(url: string, token: string): string {
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}
