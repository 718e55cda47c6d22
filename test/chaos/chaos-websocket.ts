import { contentHash } from '../../src/core/canonical-json.ts';
import type { Store } from '../../src/core/store.ts';
import type { SimulatorServer } from '../../src/simulator/index.ts';

/**
 * The WebSocket stream of a `--websocket` run: live candles of a few symbols of one interval,
 * gap-filled over REST. Its name is its own (a chaos stream reading candles over REST would be
 * another table).
 */
export const WS_STREAM = 'chaos_ws';

/** The symbols subscribed; the candles dataset has only these, so `poll` filters by interval alone. */
export const WS_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] as const;
/** The interval subscribed; the dataset also has `5m` series that nobody subscribes (never live). */
export const WS_INTERVAL = '1m';

/** The candles dataset of a `--websocket` run: the subscribed series and some that are not. */
export const WS_CANDLES = { count: 600, symbols: [...WS_SYMBOLS], intervals: [WS_INTERVAL, '5m'] };

/**
 * The feed during the chaos: a 1m candle closes every wall second (timeScale 60), the forming one
 * ticks every 100 ms; per candle frame (three series, 30 frames a second) 0.6% drop the connection,
 * 0.4% stall it silently for 2 s (the stream's heartbeat times out after 750 ms, well before the
 * server gives up), 3% come twice; connections older than 3 s are closed by the server.
 */
export const WS_CHAOS_FEED = {
  timeScale: 60,
  tickMs: 100,
  pingIntervalMs: 0,
  dropShare: 0.006,
  stallShare: 0.004,
  stallMs: 2000,
  duplicateShare: 0.03,
  maxConnectionAgeMs: 3000,
};

/** At the end: no candle closes any more (the forming one still ticks), no faults. */
export const WS_FEED_FROZEN = {
  timeScale: 0.001,
  dropShare: 0,
  stallShare: 0,
  duplicateShare: 0,
  maxConnectionAgeMs: 0,
};

/**
 * The config's entry of the WebSocket stream, as the README's guide writes it: key (symbol,
 * interval, open_time), `version` (out-of-order frames are skipped), `closed: closed`, a short
 * heartbeat so that a silent stall is caught within a service's life, and `poll` over the REST list
 * of the same candles, incremental with a small lookback.
 */
export function webSocketStreamConfig(simUrl: string, pageSize: number): Record<string, unknown> {
  return {
    name: WS_STREAM,
    type: 'websocket',
    key: ['symbol', 'interval', 'open_time'],
    cursor: 'updated_at',
    version: 'version',
    websocket: {
      url: `${simUrl.replace(/^http/, 'ws')}/ws`,
      subscribe: { op: 'subscribe', channel: 'candles', symbols: [...WS_SYMBOLS], interval: WS_INTERVAL },
      type: { path: 'type', values: ['candle'] },
      records: 'data',
      closed: 'closed',
      heartbeat: { interval: '250ms', timeout: '750ms' },
      reconnect: { base: '20ms', max: '300ms' },
      flush: { maxRecords: 200, maxWait: '200ms' },
    },
    poll: {
      request: {
        baseUrl: simUrl,
        path: '/v1/candles',
        query: { style: 'link', interval: WS_INTERVAL },
        timeoutMs: 1500,
      },
      pagination: { type: 'link' },
      pageSize,
      incremental: { param: 'updated_since', lookback: '2m' },
    },
  };
}

/** The store's candles against the simulator's, once the feed is frozen and the last run stopped. */
export interface WebSocketCheck {
  readonly stream: string;
  /** Closed candles of the subscribed series at the source. */
  readonly closed: number;
  /** Closed candles the store lacks. */
  readonly missing: number;
  /** Closed candles stored with other content. */
  readonly stale: number;
  /** Rows of keys outside the subscribed series at the source. */
  readonly unknown: number;
  /** Forming candles skipped (they may differ). */
  readonly forming: number;
  readonly connections: number;
  readonly drops: number;
  readonly stalls: number;
  readonly duplicates: number;
  readonly ageCloses: number;
  /** REST requests to the candles list during the run (gap-fills, retries included). */
  readonly gapFillRequests: number;
  readonly differences: string[];
}

/**
 * The end checks: every closed candle of the subscribed series is stored with the source's content
 * hash, no row has a key the source does not have among them; the forming candle is skipped.
 */
export async function checkWebSocket(store: Store, sim: SimulatorServer): Promise<WebSocketCheck> {
  const rows = new Map<string, string>();
  let afterKey: string | undefined;
  for (;;) {
    const page = await store.scanRecords(WS_STREAM, { limit: 5000, ...(afterKey ? { afterKey } : {}) });
    for (const row of page) rows.set(row.key, row.hash);
    if (page.length < 5000) break;
    afterKey = page.at(-1)!.key;
  }
  const ds = sim.dataset('candles');
  const symbols: ReadonlySet<string> = new Set(WS_SYMBOLS);
  const truth = new Set<string>();
  const missing: string[] = [];
  const stale: string[] = [];
  let closed = 0;
  let forming = 0;
  for (let i = 0; i < ds.totalCreated; i++) {
    const record = JSON.parse(ds.json(i)) as {
      symbol: string;
      interval: string;
      open_time: number;
      closed: boolean;
    };
    if (!symbols.has(record.symbol) || record.interval !== WS_INTERVAL) continue;
    const key = JSON.stringify([record.symbol, record.interval, record.open_time]);
    truth.add(key);
    if (!record.closed) {
      forming++;
      continue;
    }
    closed++;
    const hash = rows.get(key);
    if (hash === undefined) missing.push(key);
    else if (hash !== contentHash(record)) stale.push(key);
  }
  const unknown = [...rows.keys()].filter((key) => !truth.has(key));
  const differences: string[] = [];
  if (missing.length > 0)
    differences.push(`${WS_STREAM}: closed candles missing: ${missing.slice(0, 5).join(', ')}`);
  if (stale.length > 0)
    differences.push(`${WS_STREAM}: closed candles stale: ${stale.slice(0, 5).join(', ')}`);
  if (unknown.length > 0)
    differences.push(`${WS_STREAM}: rows the source does not have: ${unknown.slice(0, 5).join(', ')}`);
  const stats = sim.wsStatus().stats;
  return {
    stream: WS_STREAM,
    closed,
    missing: missing.length,
    stale: stale.length,
    unknown: unknown.length,
    forming,
    connections: stats.connectionsTotal,
    drops: stats.drops,
    stalls: stats.stalls,
    duplicates: stats.duplicates,
    ageCloses: stats.ageCloses,
    gapFillRequests: sim.stats().requests['GET /v1/candles'] ?? 0,
    differences,
  };
}

/** Differences of a check (each one fails the run). */
export function webSocketBad(check: WebSocketCheck): number {
  return check.missing + check.stale + check.unknown;
}

/** The check's part of the summary line. */
export function webSocketSummary(check: WebSocketCheck): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `websocket ${check.stream}: ${n(check.closed)} closed candles, ${n(check.missing)} missing, ${n(check.stale)} stale, ` +
    `${n(check.unknown)} unknown; feed: ${n(check.connections)} connections, ${n(check.drops)} drops, ` +
    `${n(check.stalls)} stalls, ${n(check.duplicates)} duplicates, ${n(check.ageCloses)} age closes; ` +
    `${n(check.gapFillRequests)} gap-fill requests`
  );
}
