import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ServiceControl } from '../../runtime/service-types.ts';

/** What a page listens for: each names the fragments that fetch themselves again on it. */
export type LiveTopic = 'streams' | 'failed' | 'sinks' | 'workers';

export interface LiveFeedOptions {
  /** At most this many pages connected at once; more are answered 503. Default 100. */
  readonly maxClients?: number;
  /** The shortest time between two events of one topic. Default 1 s. */
  readonly minGapMs?: number;
  /** How often the state is read for changes the service does not announce (other workers). Default 5 s. */
  readonly pollMs?: number;
  /** A comment line this often keeps proxies from closing an idle feed. Default 15 s. */
  readonly heartbeatMs?: number;
}

type Send = (topic: LiveTopic | null) => void;

/**
 * The dashboard's live feed (`GET /ui/live`, server-sent events): it tells the pages *that*
 * something changed, by topic, and each live fragment fetches itself again (so a page of 200
 * streams costs one event, and each browser reads only what it shows). Changes come from the
 * service's own runs at once (`ServiceControl.watch`), and from a read of the state every `pollMs`
 * while a page is connected (runs of other workers, sinks, workers). At most one event per topic
 * per `minGapMs`; nothing is read while no page is open.
 */
export class LiveFeed {
  readonly #control: ServiceControl;
  readonly #options: Required<LiveFeedOptions>;
  readonly #clients = new Set<Send>();
  readonly #dirty = new Set<LiveTopic>();
  readonly #prints = new Map<LiveTopic, string>();
  #tick: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  #unwatch: (() => void) | null = null;
  #closed = false;

  constructor(control: ServiceControl, options: LiveFeedOptions = {}) {
    this.#control = control;
    this.#options = {
      maxClients: options.maxClients ?? 100,
      minGapMs: options.minGapMs ?? 1000,
      pollMs: options.pollMs ?? 5000,
      heartbeatMs: options.heartbeatMs ?? 15_000,
    };
  }

  /** The SSE answer to one page. */
  serve(c: Context): Response {
    if (this.#closed || this.#clients.size >= this.#options.maxClients) {
      return c.text('the live feed is full or closing; the page tries again', 503, { 'Retry-After': '5' });
    }
    return streamSSE(c, async (stream) => {
      let done: () => void = () => undefined;
      const ended = new Promise<void>((resolve) => {
        done = resolve;
      });
      const send: Send = (topic) => {
        if (topic === null) done();
        else void stream.writeSSE({ event: topic, data: String(Date.now()) }).catch(done);
      };
      this.#add(send);
      const heartbeat = setInterval(
        () => void stream.write(': keep-alive\n\n').catch(done),
        this.#options.heartbeatMs,
      );
      c.req.raw.signal.addEventListener('abort', done, { once: true });
      stream.onAbort(done);
      try {
        await stream.write(': live\n\n');
        await ended;
      } finally {
        clearInterval(heartbeat);
        this.#remove(send);
      }
    });
  }

  /** Ends every feed (the service stops: the HTTP server's close must not wait for them). */
  close(): void {
    this.#closed = true;
    for (const send of [...this.#clients]) send(null);
  }

  #add(send: Send): void {
    this.#clients.add(send);
    if (this.#clients.size > 1) return;
    this.#unwatch =
      this.#control.watch?.((event) => {
        if (event === 'stop') this.close();
        else this.#dirty.add('streams');
      }) ?? null;
    this.#tick = setInterval(() => this.#flush(), this.#options.minGapMs);
    this.#poll = setInterval(() => void this.#read(), this.#options.pollMs);
    void this.#read();
  }

  #remove(send: Send): void {
    this.#clients.delete(send);
    if (this.#clients.size > 0) return;
    this.#unwatch?.();
    this.#unwatch = null;
    if (this.#tick) clearInterval(this.#tick);
    if (this.#poll) clearInterval(this.#poll);
    this.#tick = this.#poll = null;
    this.#prints.clear();
  }

  #flush(): void {
    for (const topic of this.#dirty) for (const send of this.#clients) send(topic);
    this.#dirty.clear();
  }

  /** Reads what each topic shows and marks the topics whose state changed since the last read. */
  async #read(): Promise<void> {
    const control = this.#control;
    const [streams, sinks, workers] = await Promise.all([
      control.streams().catch(() => null),
      control.sinks().catch(() => null),
      control.workers().catch(() => null),
    ]);
    const prints: [LiveTopic, unknown][] = [
      [
        'streams',
        streams?.map((s) => [
          s.stream,
          s.state,
          s.lastRun?.id,
          s.lastRun?.status,
          s.records,
          s.nextRunAt,
          s.failedRecords,
        ]),
      ],
      ['failed', streams?.map((s) => s.failedRecords)],
      ['sinks', sinks?.map((s) => [s.name, s.state, s.offset, s.lastError, s.writes])],
      ['workers', workers?.map((w) => [w.id, w.live, w.running.map((r) => r.job)])],
    ];
    for (const [topic, value] of prints) {
      if (value === null || value === undefined) continue;
      const print = JSON.stringify(value);
      const before = this.#prints.get(topic);
      this.#prints.set(topic, print);
      if (before !== undefined && before !== print) this.#dirty.add(topic);
    }
  }
}
