import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import type { CandleKind } from './candle-kind.ts';
import type { Dataset } from './dataset.ts';
import { Prng } from './prng.ts';
import { SimulatorConfigError } from './simulator-errors.ts';

/** The path the feed is served on (a WebSocket upgrade of the simulator's own HTTP server). */
export const CANDLE_FEED_PATH = '/ws';
/** The close code and reason of a connection that reached `maxConnectionAgeMs`. */
export const MAX_AGE_CLOSE_CODE = 4000;
export const MAX_AGE_CLOSE_REASON = 'max connection age reached';
/** A salt for the feed's own PRNG stream, so its draws never shift the API's faults. */
const FEED_SALT = 0x77_73_66;
/** Most candles one series may close in a single tick; beyond it simulated time is skipped. */
const MAX_CLOSES_PER_TICK = 1000;

const share = z.number().min(0).max(1);
const ms = z.number().int().min(0);

/**
 * Live-feed knobs. The shares are per candle frame, drawn from the feed's PRNG (seeded by the
 * simulator seed), exclusive, and add up to at most 1. Misbehaviour defaults to off.
 */
export const wsFeedConfigSchema = z.strictObject({
  /** Wall-clock ms between ticks; each tick updates every live candle. Default 200. */
  tickMs: z.number().int().min(10).default(200),
  /** Simulated ms per wall ms: 60 closes a 1m candle every wall second. Default 1 (real time). */
  timeScale: z.number().positive().default(1),
  /** Wall ms between the server's WebSocket protocol pings; 0 = none. Default 15,000. */
  pingIntervalMs: ms.default(15_000),
  /** Share of candle frames at which the server drops the connection instead (terminate, 1006). */
  dropShare: share.default(0),
  /** Share of candle frames at which the connection stalls: no frames, no pongs, dropped after `stallMs`. */
  stallShare: share.default(0),
  /** How long a stalled connection stays open before it is dropped. Default 5,000. */
  stallMs: ms.default(5000),
  /** Share of candle frames sent twice. */
  duplicateShare: share.default(0),
  /** Connections are closed (code 4000) this long after they opened; 0 = never. Default 0. */
  maxConnectionAgeMs: ms.default(0),
});
export type WsFeedConfig = z.infer<typeof wsFeedConfigSchema>;
export type WsFeedPatch = Partial<WsFeedConfig>;

/** Validates and completes a feed patch over the current config. */
export function mergeWsFeed(current: WsFeedConfig, patch: unknown): WsFeedConfig {
  const result = wsFeedConfigSchema.safeParse({ ...current, ...(patch as object) });
  if (!result.success) throw new SimulatorConfigError(`invalid ws: ${z.prettifyError(result.error)}`);
  const c = result.data;
  const total = c.dropShare + c.stallShare + c.duplicateShare;
  if (total > 1 + 1e-9)
    throw new SimulatorConfigError(`ws shares add up to ${total}; they must be at most 1`);
  return c;
}

export const DEFAULT_WS_FEED: WsFeedConfig = wsFeedConfigSchema.parse({});

export interface WsFeedStats {
  /** Connections open now. */
  connections: number;
  /** Connections ever accepted. */
  connectionsTotal: number;
  /** Upgrades refused with 401. */
  unauthorized: number;
  /** Every text frame sent (a duplicate counts twice). */
  framesSent: number;
  /** Candle frames among them. */
  candleFrames: number;
  drops: number;
  stalls: number;
  duplicates: number;
  /** Connections closed for their age. */
  ageCloses: number;
  /** Series (`BTCUSDT 1m`) with a live candle. */
  liveSeries: string[];
}

interface Client {
  socket: WebSocket;
  /** Series keys (`BTCUSDT 1m`) it subscribed to. */
  subscriptions: Set<string>;
  stalled: boolean;
  timers: NodeJS.Timeout[];
}

interface LiveSeries {
  symbol: string;
  interval: string;
  intervalMs: number;
  /** The dataset index of the open candle. */
  index: number;
  /** Simulated ms the open candle has been forming. */
  elapsedMs: number;
}

/**
 * The live candle feed at `/ws`: a series goes live on its first subscription and stays live until
 * `close()`, whether or not anyone listens, so frames missed while disconnected are lost and only
 * the REST API has them. Every update is written into the dataset first, and a frame's `data` is
 * the record's JSON exactly as the REST API serves it.
 */
export class CandleFeed {
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly clients = new Set<Client>();
  private readonly live = new Map<string, LiveSeries>();
  private readonly prng: Prng;
  private config: WsFeedConfig;
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly counters: Omit<WsFeedStats, 'connections' | 'liveSeries'> = {
    connectionsTotal: 0,
    unauthorized: 0,
    framesSent: 0,
    candleFrames: 0,
    drops: 0,
    stalls: 0,
    duplicates: 0,
    ageCloses: 0,
  };

  constructor(
    private readonly dataset: Dataset,
    private readonly kind: CandleKind,
    seed: number,
    patch: WsFeedPatch,
    private readonly clock: () => number,
    /** True when the upgrade request carries a credential the API accepts (or none is needed). */
    private readonly authorize: (req: IncomingMessage, url: URL) => boolean,
  ) {
    this.prng = new Prng(seed, FEED_SALT);
    this.config = mergeWsFeed(DEFAULT_WS_FEED, patch);
  }

  get current(): WsFeedConfig {
    return this.config;
  }

  configure(patch: unknown): WsFeedConfig {
    const next = mergeWsFeed(this.config, patch);
    const restart = next.tickMs !== this.config.tickMs;
    this.config = next;
    if (restart && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
      this.startTicker();
    }
    return next;
  }

  stats(): WsFeedStats {
    return { connections: this.clients.size, ...this.counters, liveSeries: [...this.live.keys()] };
  }

  /** The HTTP server's `upgrade` event: 404 off the feed path, 401 without a valid credential. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    socket.on('error', () => socket.destroy());
    if (this.closed || url.pathname !== CANDLE_FEED_PATH) {
      refuse(socket, 404, 'Not Found');
      return;
    }
    if (!this.authorize(req, url)) {
      this.counters.unauthorized++;
      refuse(socket, 401, 'Unauthorized', 'WWW-Authenticate: Bearer realm="syncline-simulator"\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Stops the ticker and closes every connection (1001), terminating those that do not answer. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    const closing = [...this.clients].map((client) => {
      for (const timer of client.timers) clearTimeout(timer);
      const ws = client.socket;
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => ws.terminate(), 250);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (client.stalled) ws.terminate();
        else ws.close(1001, 'simulator closing');
      });
    });
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const client: Client = { socket: ws, subscriptions: new Set(), stalled: false, timers: [] };
    this.clients.add(client);
    this.counters.connectionsTotal++;
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      for (const timer of client.timers) clearTimeout(timer);
      this.clients.delete(client);
    });
    ws.on('ping', (data) => {
      if (!client.stalled) ws.pong(data);
    });
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    const { pingIntervalMs, maxConnectionAgeMs } = this.config;
    if (pingIntervalMs > 0) {
      client.timers.push(
        setInterval(() => {
          if (!client.stalled && ws.readyState === WebSocket.OPEN) ws.ping();
        }, pingIntervalMs),
      );
    }
    if (maxConnectionAgeMs > 0) {
      client.timers.push(
        setTimeout(() => {
          if (client.stalled || ws.readyState !== WebSocket.OPEN) return;
          this.counters.ageCloses++;
          ws.close(MAX_AGE_CLOSE_CODE, MAX_AGE_CLOSE_REASON);
        }, maxConnectionAgeMs),
      );
    }
  }

  private onMessage(client: Client, data: RawData, isBinary: boolean): void {
    if (client.stalled) return;
    let message: unknown;
    try {
      message = isBinary ? undefined : JSON.parse(String(data));
    } catch {
      message = undefined;
    }
    const op = typeof message === 'object' && message !== null ? (message as { op?: unknown }).op : undefined;
    if (op === 'ping') {
      this.send(client, '{"type":"pong"}');
      return;
    }
    if (op === 'subscribe') {
      this.subscribe(client, message as Record<string, unknown>);
      return;
    }
    this.sendError(
      client,
      op === undefined ? 'expected a JSON object with "op"' : `unknown op ${String(op)}`,
    );
  }

  private subscribe(client: Client, message: Record<string, unknown>): void {
    const { channel, symbols, interval } = message;
    if (channel !== 'candles') {
      this.sendError(client, 'channel must be "candles"');
      return;
    }
    if (typeof interval !== 'string' || !this.kind.intervals.includes(interval)) {
      this.sendError(client, `interval must be one of ${this.kind.intervals.join(', ')}`);
      return;
    }
    let wanted: string[];
    if (symbols === '*') wanted = [...this.kind.symbols];
    else if (
      Array.isArray(symbols) &&
      symbols.length > 0 &&
      symbols.every((s) => typeof s === 'string' && this.kind.symbols.includes(s))
    ) {
      wanted = [...new Set(symbols as string[])];
    } else {
      this.sendError(client, `symbols must be "*" or a list of ${this.kind.symbols.join(', ')}`);
      return;
    }
    const started = wanted.map((symbol) => this.goLive(symbol, interval));
    for (const series of started) client.subscriptions.add(`${series.symbol} ${series.interval}`);
    this.send(client, JSON.stringify({ type: 'subscribed', channel, symbols: wanted, interval }));
    // The candles forming now, so a subscriber need not wait a tick for the current state.
    for (const series of started) {
      if (client.stalled || client.socket.readyState !== WebSocket.OPEN) break;
      this.sendCandle(client, this.frameOf(series.index));
    }
  }

  /** The series' live state; its first call opens a candle after the series' last one. */
  private goLive(symbol: string, interval: string): LiveSeries {
    const key = `${symbol} ${interval}`;
    let series = this.live.get(key);
    if (series === undefined) {
      const index = this.dataset.insert(this.clock(), this.kind.drawFor(symbol, interval), true);
      series = { symbol, interval, intervalMs: this.kind.intervalMs(interval), index, elapsedMs: 0 };
      this.live.set(key, series);
      this.startTicker();
    }
    return series;
  }

  private startTicker(): void {
    if (this.ticker !== undefined || this.closed) return;
    this.ticker = setInterval(() => this.tick(), this.config.tickMs);
  }

  /** Advances simulated time by `tickMs * timeScale`: updates, closes and opens candles. */
  private tick(): void {
    const step = this.config.tickMs * this.config.timeScale;
    for (const [key, series] of this.live) {
      series.elapsedMs += step;
      let closes = 0;
      while (series.elapsedMs >= series.intervalMs && closes < MAX_CLOSES_PER_TICK) {
        // The final version, then the next candle opens.
        this.bump(series.index, false);
        this.broadcast(key, series.index);
        series.index = this.dataset.insert(
          this.clock(),
          this.kind.drawFor(series.symbol, series.interval),
          true,
        );
        this.broadcast(key, series.index);
        series.elapsedMs -= series.intervalMs;
        closes++;
      }
      if (closes >= MAX_CLOSES_PER_TICK) series.elapsedMs %= series.intervalMs;
      if (closes === 0) {
        this.bump(series.index, true);
        this.broadcast(key, series.index);
      }
    }
  }

  /** A new version of the candle (new close/high/low/volume) with a strictly later `updated_at`. */
  private bump(index: number, open: boolean): void {
    const now = this.clock();
    const updatedMs = Math.max(now, this.dataset.stateOf(index).updatedMs + 1);
    this.dataset.update(index, updatedMs, now, open);
  }

  private frameOf(index: number): string {
    return `{"type":"candle","data":${this.dataset.json(index)}}`;
  }

  private broadcast(key: string, index: number): void {
    let frame: string | undefined;
    for (const client of this.clients) {
      if (!client.subscriptions.has(key) || client.stalled) continue;
      if (client.socket.readyState !== WebSocket.OPEN) continue;
      frame ??= this.frameOf(index);
      this.sendCandle(client, frame);
    }
  }

  /** One candle frame, after the misbehaviour draw: drop, stall, duplicate or plain. */
  private sendCandle(client: Client, frame: string): void {
    const { dropShare, stallShare, duplicateShare, stallMs } = this.config;
    const draw = this.prng.next();
    if (draw < dropShare) {
      this.counters.drops++;
      client.socket.terminate();
      return;
    }
    if (draw < dropShare + stallShare) {
      this.counters.stalls++;
      client.stalled = true;
      client.timers.push(setTimeout(() => client.socket.terminate(), stallMs));
      return;
    }
    const copies = draw < dropShare + stallShare + duplicateShare ? 2 : 1;
    if (copies === 2) this.counters.duplicates++;
    for (let i = 0; i < copies; i++) {
      this.counters.candleFrames++;
      this.send(client, frame);
    }
  }

  private send(client: Client, frame: string): void {
    if (client.socket.readyState !== WebSocket.OPEN) return;
    this.counters.framesSent++;
    client.socket.send(frame);
  }

  private sendError(client: Client, message: string): void {
    this.send(client, JSON.stringify({ type: 'error', message }));
  }
}

/** Answers a refused upgrade with a bare HTTP status and closes the socket. */
function refuse(socket: Duplex, status: number, text: string, extraHeaders = ''): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\n${extraHeaders}Content-Length: 0\r\nConnection: close\r\n\r\n`);
}
