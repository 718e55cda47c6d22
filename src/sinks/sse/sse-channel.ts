import { describeError } from '../../core/errors.ts';
import type { SyncEventBus } from '../../core/events.ts';
import { type FeedEvent, feedEvent } from '../../core/feed-change.ts';
import type { SinkEventKind } from '../../core/sink.ts';
import type { ChangeFeed } from '../../core/store.ts';
import type { Logger, LogRow } from '../../core/types.ts';

const KINDS: readonly SinkEventKind[] = ['insert', 'update', 'delete', 'run'];
/** A sink without a `kinds` filter serves the record changes, not the run events. */
const RECORD_KINDS: readonly SinkEventKind[] = ['insert', 'update', 'delete'];

export interface SseChannelOptions {
  /** The sse sink's name (in messages and logs). */
  readonly name: string;
  /** The sink's streams; empty: every stream. A client may narrow them. */
  readonly streams: readonly string[];
  /** The sink's kinds; empty: the record changes (not `run`). A client may narrow them. */
  readonly kinds: readonly SinkEventKind[];
  /** Whether events carry each key's latest record as `data`. */
  readonly data: boolean;
  /** A `: heartbeat` comment this often; also how long a client may leave a full queue untaken. */
  readonly heartbeatMs: number;
  /** Events queued for one client (not yet taken by its connection) before it is judged too slow. */
  readonly maxBuffered: number;
  /** Clients at once; one more is refused (503). */
  readonly maxClients: number;
  /** The config's streams: a client naming another is refused (400). */
  readonly knownStreams: readonly string[];
  readonly feed: Pick<ChangeFeed, 'readEvents' | 'changeLogBounds'>;
  /** Commits of this process (`page:committed`) wake the clients at once; others are polled. */
  readonly events?: SyncEventBus;
  readonly log: Logger;
  /** How often a client looks for changes when no commit woke it. Default 500 ms. */
  readonly pollMs?: number;
  /** Change-log rows read per query. Default 100. */
  readonly batchSize?: number;
}

/** What a client asked: the raw query and header values (validated here). */
export interface SseRequest {
  /** `?streams=a,b`: narrows the sink's streams. */
  readonly streams?: string | undefined;
  /** `?kinds=insert,update`: narrows the sink's kinds. */
  readonly kinds?: string | undefined;
  /** `?since=<seq>`: start after this seq. */
  readonly since?: string | undefined;
  /** The `Last-Event-ID` header (the seq of the last event received): wins over `since`. */
  readonly lastEventId?: string | undefined;
  /** Aborted when the client leaves (the request's signal). */
  readonly signal?: AbortSignal;
  /**
   * Cuts the connection at once (a client too slow to take even its last event). Default: the
   * stream errors, which servers answer by closing the connection.
   */
  readonly cut?: () => void;
}

/** A request the channel refuses: its HTTP status, a code and a one-line message. */
export class SseRefused extends Error {
  readonly status: 400 | 503;
  readonly code: string;
  constructor(status: 400 | 503, code: string, message: string) {
    super(message);
    this.name = 'SseRefused';
    this.status = status;
    this.code = code;
  }
}

export interface SseChannel {
  readonly name: string;
  /** Clients connected now. */
  clients(): number;
  /**
   * The event stream of one client (`text/event-stream` bytes), or `SseRefused`. It ends when the
   * client leaves, when it is too slow, after a `reset`, or when the channel closes.
   */
  open(request: SseRequest): Promise<ReadableStream<Uint8Array>>;
  /** Ends every client's stream (their queued events go first, briefly) and refuses new ones. */
  close(): void;
}

/**
 * The sse sink: the change log as server-sent events, one stream per client, each at its own
 * position (no offset is stored: a client resumes with `Last-Event-ID`). Each event is
 * `id: <seq>`, `event: change` (`event: run` for a run event), `data: <event JSON>`, in seq order.
 *
 * Bounded per client: rows are read from the store only while the client's queue (events its
 * connection has not taken yet) is below `maxBuffered`, so a slow reader costs at most
 * `maxBuffered` events plus one read batch. When the queue is full, another event is due and the
 * connection takes nothing for `heartbeatMs`, the client is too slow: it gets `event: error` (if it
 * reads again within a second) and is disconnected.
 *
 * Built on a `ReadableStream` of its own rather than hono's `streamSSE`: that helper's `close()`
 * waits until every queued write was taken, so a client that stopped reading would hold its socket
 * for good, and its queue is not visible; here the queue is the stream's own (counted per event)
 * and the connection can be cut.
 */
export function createSseChannel(options: SseChannelOptions): SseChannel {
  const pollMs = options.pollMs ?? 500;
  const batchSize = options.batchSize ?? 100;
  const live = new Set<Client>();
  /** Clients admitted but not connected yet (their bounds are being read). */
  let opening = 0;
  let closed = false;
  const offCommit = options.events?.on('page:committed', () => {
    for (const client of live) client.wake();
  });

  return {
    name: options.name,
    clients: () => live.size,
    async open(request) {
      if (closed) throw new SseRefused(503, 'unavailable', 'the service is stopping; reconnect later');
      const streams = narrow(
        'streams',
        request.streams,
        options.streams,
        options.knownStreams,
        (name) =>
          `unknown stream "${name}"; the config's streams are ${options.knownStreams.join(', ') || 'none'}`,
        options.name,
      );
      const kinds = narrow(
        'kinds',
        request.kinds,
        options.kinds.length > 0 ? options.kinds : RECORD_KINDS,
        KINDS,
        (kind) => `unknown kind "${kind}"; kinds are insert, update, delete, run`,
        options.name,
      ) as SinkEventKind[];
      const [from, fromWhat] =
        request.lastEventId !== undefined && request.lastEventId.trim() !== ''
          ? [parseSeq(request.lastEventId, 'Last-Event-ID'), 'Last-Event-ID']
          : request.since !== undefined
            ? [parseSeq(request.since, 'since'), 'since']
            : [null, null];
      if (live.size + opening >= options.maxClients) {
        throw new SseRefused(
          503,
          'too_many_clients',
          `sse sink "${options.name}" serves at most ${options.maxClients} clients at once (maxClients) and has that many; try again later, or raise maxClients`,
        );
      }
      // The slot is held while the bounds are read, so clients connecting at once cannot pass the cap.
      opening++;
      let bounds: Awaited<ReturnType<SseChannelOptions['feed']['changeLogBounds']>>;
      try {
        bounds = await options.feed.changeLogBounds();
      } finally {
        opening--;
      }
      // Closed while the bounds were read: `close()` ended the clients it saw, not this one, which
      // would stream on and hold the service's HTTP server open until its request timeout.
      if (closed) throw new SseRefused(503, 'unavailable', 'the service is stopping; reconnect later');
      if (from !== null && from > bounds.highestSeq) {
        throw new SseRefused(
          400,
          'bad_request',
          `${fromWhat}: seq ${from} is past the end of the change log (its highest seq is ${bounds.highestSeq}); is this the same store?`,
        );
      }
      if (from !== null) {
        // Retention deletes a prefix of the log: rows after `from` may be gone when the log now
        // starts past `from + 1` (or holds nothing, with seqs assigned after `from`). Seqs may
        // have gaps (PostgreSQL), so this errs towards a reset, never towards a silent loss.
        const lost = bounds.oldestSeq === null ? from < bounds.highestSeq : from < bounds.oldestSeq - 1;
        if (lost) {
          options.log.info(
            { sink: options.name, since: from, oldestSeq: bounds.oldestSeq },
            'sse client asked for changes retention pruned: reset',
          );
          return resetStream(from, bounds.oldestSeq);
        }
      }
      const client = new Client({
        ...options,
        pollMs,
        batchSize,
        streams,
        kinds,
        after: from ?? bounds.newestSeq ?? 0,
        request,
        onEnd: (c) => live.delete(c),
      });
      live.add(client);
      client.start();
      return client.stream;
    },
    close() {
      if (closed) return;
      closed = true;
      offCommit?.();
      for (const client of live) client.end('the service is stopping');
    },
  };
}

/**
 * A comma list of the query narrowing what the sink allows; without one, what the sink allows
 * (empty: everything). Names outside `known` or outside the sink's list are refused by name.
 */
function narrow(
  field: string,
  raw: string | undefined,
  allowed: readonly string[],
  known: readonly string[],
  unknown: (name: string) => string,
  sink: string,
): string[] {
  if (raw === undefined) return [...allowed];
  const asked = [...new Set(raw.split(',').map((s) => s.trim()))].filter((s) => s !== '');
  if (asked.length === 0) {
    throw new SseRefused(400, 'bad_request', `${field}: must list at least one, comma-separated`);
  }
  for (const name of asked) {
    if (!known.includes(name)) throw new SseRefused(400, 'bad_request', `${field}: ${unknown(name)}`);
    if (allowed.length > 0 && !allowed.includes(name)) {
      throw new SseRefused(
        400,
        'bad_request',
        `${field}: "${name}" is not among the ${field} of sse sink "${sink}" (${allowed.join(', ')}); a client can only narrow them`,
      );
    }
  }
  return asked;
}

function parseSeq(raw: string, what: string): number {
  const text = raw.trim();
  const seq = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seq)) {
    throw new SseRefused(
      400,
      'bad_request',
      `${what}: must be a seq (a whole number, the id of the last event received), got "${raw.slice(0, 40)}"`,
    );
  }
  return seq;
}

const encoder = new TextEncoder();

/** One SSE message as bytes. */
function message(fields: { id?: number; event: string; data: string }): Uint8Array {
  const id = fields.id === undefined ? '' : `id: ${fields.id}\n`;
  return encoder.encode(`${id}event: ${fields.event}\ndata: ${fields.data}\n\n`);
}

/** A stream of one `event: reset` and its end: the client must re-read the tables. */
function resetStream(since: number, oldestSeq: number | null): ReadableStream<Uint8Array> {
  const reason =
    `the change log no longer holds every change after seq ${since}: retention pruned them` +
    `${oldestSeq === null ? ' (it is empty now)' : ` (its oldest is seq ${oldestSeq})`}; ` +
    're-read the tables, then reconnect without Last-Event-ID or since';
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(message({ event: 'reset', data: JSON.stringify({ reason, oldestSeq }) }));
      controller.close();
    },
  });
}

interface ClientOptions extends SseChannelOptions {
  readonly pollMs: number;
  readonly batchSize: number;
  readonly streams: readonly string[];
  readonly kinds: readonly SinkEventKind[];
  /** The seq after which it reads. */
  readonly after: number;
  readonly request: SseRequest;
  readonly onEnd: (client: Client) => void;
}

/** One connected client: its queue (the stream's), its position, its pump. */
class Client {
  readonly stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #position: number;
  #ended = false;
  /** Resolves the pump's current wait (a commit, a poll, the client took something, the end). */
  #wakeUp: (() => void) | null = null;
  /** Set when the connection took an event (the stream was pulled) since the pump last looked. */
  #pulled = false;
  /** The pump waits for the connection to take something. */
  #full = false;
  /** Woken while not waiting. */
  #woken = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #cutTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => this.end(null);

  constructor(private readonly o: ClientOptions) {
    this.#position = o.after;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          this.#pulled = true;
          if (this.#full) this.wake();
        },
        cancel: () => this.end(null),
      },
      // The queue counts events (and heartbeats): `desiredSize` is what may still be queued.
      new CountQueuingStrategy({ highWaterMark: o.maxBuffered }),
    );
  }

  start(): void {
    const { signal } = this.o.request;
    if (signal?.aborted) {
      this.end(null);
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    // A first comment at once: the client sees the answer and its headers without waiting.
    this.#controller.enqueue(
      encoder.encode(`: connected to sse sink "${this.o.name}" after seq ${this.o.after}\n\n`),
    );
    this.#heartbeat = setInterval(() => {
      if (!this.#ended && (this.#controller.desiredSize ?? 0) > 0) {
        this.#controller.enqueue(encoder.encode(': heartbeat\n\n'));
      }
    }, this.o.heartbeatMs);
    this.o.log.debug(
      { sink: this.o.name, after: this.o.after, streams: this.o.streams },
      'sse client connected',
    );
    void this.#pump().catch((error: unknown) => {
      if (this.#ended) return; // a read in flight when the client left or the service stopped
      this.o.log.warn({ sink: this.o.name, err: describeError(error) }, 'sse client ended by an error');
      this.#send(message({ event: 'error', data: JSON.stringify({ reason: describeError(error) }) }));
      this.end('an error');
    });
  }

  wake(): void {
    const wakeUp = this.#wakeUp;
    this.#wakeUp = null;
    if (wakeUp) wakeUp();
    else this.#woken = true; // a commit while the pump was reading: its next wait returns at once
  }

  /** Waits for a wake-up or `ms`; true when woken. */
  #wait(ms: number): Promise<boolean> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeUp = null;
        resolve(false);
      }, ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  async #pump(): Promise<void> {
    const { feed, data, kinds } = this.o;
    const stream = this.o.streams.length > 0 ? this.o.streams : undefined;
    let pending: FeedEvent[] = [];
    while (!this.#ended) {
      if (pending.length === 0) {
        const rows: LogRow[] = await feed.readEvents({
          afterSeq: this.#position,
          limit: this.o.batchSize,
          ...(stream ? { stream } : {}),
          withData: data,
        });
        if (this.#ended) return;
        if (rows.length === 0) {
          await this.#wait(this.o.pollMs);
          continue;
        }
        this.#position = rows.at(-1)!.seq;
        pending = rows
          .map(feedEvent)
          .filter((event): event is FeedEvent => event !== null && kinds.includes(event.kind));
      }
      while (pending.length > 0 && (this.#controller.desiredSize ?? 0) > 0) {
        const change = pending.shift()!;
        this.#send(
          message({
            id: change.seq,
            event: change.kind === 'run' ? 'run' : 'change',
            data: JSON.stringify(outgoing(change, data)),
          }),
        );
      }
      if (pending.length === 0) continue;
      // Full: `maxBuffered` events wait for the connection and one more is due.
      this.#pulled = false;
      this.#full = true;
      const deadline = Date.now() + this.o.heartbeatMs;
      while (!this.#ended && !this.#pulled && Date.now() < deadline) await this.#wait(deadline - Date.now());
      this.#full = false;
      if (this.#ended) return;
      if (!this.#pulled) {
        this.#tooSlow();
        return;
      }
    }
  }

  #tooSlow(): void {
    const reason = `client too slow: ${this.o.maxBuffered} events (maxBuffered) waited and it took none for ${this.o.heartbeatMs} ms`;
    this.o.log.warn(
      { sink: this.o.name, position: this.#position, maxBuffered: this.o.maxBuffered },
      `sse ${reason}: disconnected (it may reconnect with Last-Event-ID)`,
    );
    this.#send(message({ event: 'error', data: JSON.stringify({ reason }) }));
    this.end(reason);
  }

  #send(bytes: Uint8Array): void {
    try {
      this.#controller.enqueue(bytes);
    } catch {
      // closed or cancelled: the client is gone
    }
  }

  /**
   * Ends the client: its timers and listeners go at once. `why` null: the client left (nothing
   * more to send). Otherwise the stream closes after what is queued; a connection that does not
   * take it within a second is cut.
   */
  end(why: string | null): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    this.o.request.signal?.removeEventListener('abort', this.#onAbort);
    this.o.onEnd(this);
    this.wake();
    if (why === null) {
      this.o.log.debug({ sink: this.o.name, position: this.#position }, 'sse client left');
      return;
    }
    try {
      this.#controller.close();
    } catch {
      return; // already closed or cancelled
    }
    this.#cutTimer = setTimeout(() => this.#cut(), Math.min(1000, this.o.heartbeatMs));
    this.#cutTimer.unref();
  }

  #cut(): void {
    if (this.o.request.signal?.aborted) return;
    if (this.o.request.cut) {
      this.o.request.cut();
      return;
    }
    try {
      this.#controller.error(new Error('sse client disconnected'));
    } catch {
      // already ended
    }
  }
}

/** The event as sent: without `data` when the sink sends none. */
function outgoing(change: FeedEvent, data: boolean): object {
  if (data || change.kind === 'run') return change;
  const { data: _omitted, ...rest } = change;
  return rest;
}
