import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/canonical-json.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Store } from '../../src/core/store.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { type RunResult, runStream } from '../../src/engine/stream-runner.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { type SimulatorOptions, type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { webSocketStream } from '../../src/sources/websocket/websocket-stream.ts';
import type {
  WebSocketConfig,
  WebSocketStreamConfig,
} from '../../src/sources/websocket/websocket-stream-config.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

/** 1m candles close every wall second; the forming candle changes every 50 ms. */
const FEED = { timeScale: 60, tickMs: 50, pingIntervalMs: 0 };
const TOKEN = 'sekrit-t0ken-9';

let sim: SimulatorServer | null = null;
let t: TestStore | null = null;
afterEach(async () => {
  await sim?.close();
  await t?.dispose();
  sim = null;
  t = null;
});

async function setUp(
  options: Partial<SimulatorOptions> = {},
): Promise<{ sim: SimulatorServer; t: TestStore }> {
  sim = await startSimulator({
    seed: 7,
    datasets: { candles: { count: 240, symbols: ['BTCUSDT', 'ETHUSDT'], intervals: ['1m'] } },
    ...options,
    ws: { ...FEED, ...options.ws },
  });
  t = await makeTestStore('sqlite');
  return { sim, t };
}

/** The candles stream of the guide: BTCUSDT 1m, live from /ws, gap-filled from /v1/candles. */
function candles(
  server: SimulatorServer,
  over: Partial<WebSocketConfig> = {},
  auth = false,
): AnyStreamDefinition {
  return webSocketStream({
    name: 'candles',
    key: ['symbol', 'interval', 'open_time'],
    cursor: 'updated_at',
    version: 'version',
    websocket: {
      url: `${server.url.replace(/^http/, 'ws')}/ws`,
      subscribe: { op: 'subscribe', channel: 'candles', symbols: ['BTCUSDT'], interval: '1m' },
      type: { path: 'type', values: ['candle'] },
      records: 'data',
      closed: 'closed',
      heartbeat: { interval: 100, timeout: 400 },
      reconnect: { base: 20, max: 200 },
      flush: { maxRecords: 50, maxWait: 100 },
      ...over,
    },
    poll: {
      request: {
        baseUrl: server.url,
        path: '/v1/candles',
        query: { style: 'link', symbol: 'BTCUSDT', interval: '1m' },
      },
      ...(auth ? { auth: { type: 'bearer' as const, tokenEnv: 'SIM_TOKEN' } } : {}),
      pagination: { type: 'link' },
      pageSize: 100,
      incremental: { param: 'updated_since', lookback: '10m' },
    },
  });
}

/** A logger that keeps every line, as `message {fields}`. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (obj: object | string, msg?: string) => {
    lines.push(typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`);
  };
  return { lines, debug() {}, info: keep, warn: keep, error: keep };
}

/** A sync run through the engine, stopped (as SIGTERM would) once `until` says so. */
async function runUntil(
  store: Store,
  stream: AnyStreamDefinition,
  until: () => Promise<boolean> | boolean,
  options: { log?: Logger; timeoutMs?: number; secret?: (name: string) => string } = {},
): Promise<RunResult> {
  const stop = new AbortController();
  const running = runStream({
    store,
    stream,
    holder: newHolderId(),
    events: new SyncEventBus(),
    log: options.log ?? recorder(),
    stop: stop.signal,
    options: { request: { mode: 'sync' } },
    ...(options.secret ? { secret: options.secret } : {}),
  });
  let done: RunResult | null = null;
  void running.then((r) => {
    done = r;
  });
  const deadline = Date.now() + (options.timeoutMs ?? 8000);
  while (done === null && Date.now() < deadline && !(await until())) await sleep(25);
  stop.abort();
  return running;
}

/** How the store differs from the simulator's BTCUSDT 1m candles (what GET /v1/candles serves). */
async function differences(store: Store, server: SimulatorServer) {
  const rows = new Map<string, { hash: string; closed: boolean; version: number }>();
  for (const row of await store.scanRecords('candles', { limit: 100_000 })) {
    const data = row.data as { closed: boolean; version: number };
    rows.set(row.key, { hash: row.hash, closed: data.closed, version: data.version });
  }
  const ds = server.dataset('candles');
  const missing: string[] = [];
  const stale: string[] = [];
  const truth = new Set<string>();
  let closedCount = 0;
  let open: string | null = null;
  for (let i = 0; i < ds.totalCreated; i++) {
    const record = JSON.parse(ds.json(i)) as {
      symbol: string;
      interval: string;
      open_time: number;
      closed: boolean;
    };
    if (record.symbol !== 'BTCUSDT' || record.interval !== '1m') continue;
    const key = JSON.stringify([record.symbol, record.interval, record.open_time]);
    truth.add(key);
    const row = rows.get(key);
    if (!record.closed) open = key;
    else closedCount++;
    if (row === undefined) missing.push(key);
    else if (record.closed && row.hash !== contentHash(record)) stale.push(key);
  }
  const extra = [...rows.keys()].filter((key) => !truth.has(key));
  return { missing, stale, extra, closedCount, open, openRow: open === null ? undefined : rows.get(open) };
}

async function inStep(store: Store, server: SimulatorServer): Promise<boolean> {
  const d = await differences(store, server);
  return d.missing.length === 0 && d.stale.length === 0 && d.extra.length === 0;
}

/** Stops candles from closing (the forming one still changes every tick) and the feed misbehaving. */
function freeze(server: SimulatorServer): void {
  server.setWs({ timeScale: 0.001, dropShare: 0, stallShare: 0, duplicateShare: 0 });
}

const BASE_BTC_CANDLES = 120;

describe('websocket.stream against the simulator feed', () => {
  it('gap-fills over REST, then applies live candles; the store ends equal to REST', async () => {
    const { sim, t } = await setUp();
    const log = recorder();
    const stream = candles(sim);
    // Candles close live while the run goes on.
    const result = await runUntil(
      t.store,
      stream,
      async () => (await differences(t.store, sim)).closedCount >= BASE_BTC_CANDLES + 3,
      { log },
    );
    expect(result.status).toBe('interrupted');
    freeze(sim);
    // In step, and the forming candle's stored version is one of its live updates.
    const settled = await runUntil(
      t.store,
      stream,
      async () =>
        (await inStep(t.store, sim)) && ((await differences(t.store, sim)).openRow?.version ?? 0) >= 3,
      { log },
    );
    expect(settled.status).toBe('interrupted');
    const d = await differences(t.store, sim);
    expect({ missing: d.missing, stale: d.stale, extra: d.extra }).toEqual({
      missing: [],
      stale: [],
      extra: [],
    });
    expect(d.closedCount).toBeGreaterThanOrEqual(BASE_BTC_CANDLES + 3);
    // The forming candle came over the socket: stored, open, at a version past its first.
    expect(d.openRow?.closed).toBe(false);
    expect(d.openRow?.version).toBeGreaterThan(1);
    // Only REST moves the checkpoint.
    expect(Object.keys(settled.checkpoint as object)).toEqual(['poll']);
    expect(log.lines.filter((l) => l.startsWith('websocket connected')).length).toBe(2);
    // The first gap-fill read the whole series (and the candle the subscription opened).
    const firstFill = log.lines.find((l) => l.startsWith('websocket gap-fill done'));
    expect(Number(/"records":(\d+)/.exec(firstFill ?? '')?.[1])).toBeGreaterThanOrEqual(BASE_BTC_CANDLES);
  });

  it('reconnects through drops, stalls and duplicates, and loses nothing', async () => {
    const { sim, t } = await setUp({
      ws: { dropShare: 0.04, stallShare: 0.03, duplicateShare: 0.1, stallMs: 700 },
    });
    const log = recorder();
    const stream = candles(sim);
    const result = await runUntil(
      t.store,
      stream,
      () => {
        const s = sim.wsStatus().stats;
        const stallFound = log.lines.some((l) => l.includes('"reason":"heartbeat timeout"'));
        return s.connectionsTotal >= 5 && s.drops > 0 && stallFound && s.duplicates > 0;
      },
      { log, timeoutMs: 12_000 },
    );
    expect(result.status).toBe('interrupted');
    const stats = sim.wsStatus().stats;
    expect(stats.connectionsTotal).toBeGreaterThanOrEqual(5);
    expect(stats.drops).toBeGreaterThan(0);
    expect(stats.duplicates).toBeGreaterThan(0);
    // A stall is found by the heartbeat, before the server gives up on it.
    expect(log.lines.some((l) => l.includes('"reason":"heartbeat timeout"'))).toBe(true);
    expect(log.lines.some((l) => l.startsWith('websocket disconnected') && l.includes('"code":1006'))).toBe(
      true,
    );
    freeze(sim);
    await runUntil(t.store, stream, () => inStep(t.store, sim), { log });
    const d = await differences(t.store, sim);
    expect({ missing: d.missing, stale: d.stale, extra: d.extra }).toEqual({
      missing: [],
      stale: [],
      extra: [],
    });
    expect(d.closedCount).toBeGreaterThan(BASE_BTC_CANDLES);
  }, 25_000);

  it('resumes after a stop from the REST checkpoint: candles closed meanwhile are gap-filled', async () => {
    const { sim, t } = await setUp();
    const stream = candles(sim);
    const first = await runUntil(
      t.store,
      stream,
      async () => (await differences(t.store, sim)).closedCount > BASE_BTC_CANDLES,
    );
    expect(first.status).toBe('interrupted');
    const resumeAt = first.checkpoint as { poll: unknown };
    expect(resumeAt.poll).not.toBeNull();
    const before = (await differences(t.store, sim)).closedCount;
    await sleep(1500); // candles close with no one listening
    freeze(sim);
    const log = recorder();
    const second = await runUntil(t.store, stream, () => inStep(t.store, sim), { log });
    expect(second.status).toBe('interrupted');
    const d = await differences(t.store, sim);
    expect({ missing: d.missing, stale: d.stale, extra: d.extra }).toEqual({
      missing: [],
      stale: [],
      extra: [],
    });
    expect(d.closedCount).toBeGreaterThan(before);
    // The second gap-fill read from the watermark (a few records), not the whole series again.
    const gapFill = log.lines.find((l) => l.startsWith('websocket gap-fill done'));
    const records = Number(/"records":(\d+)/.exec(gapFill ?? '')?.[1]);
    expect(records).toBeGreaterThan(0);
    expect(records).toBeLessThan(BASE_BTC_CANDLES);
  });

  it('reconnects on purpose before the server cuts old connections', async () => {
    const { sim, t } = await setUp({ ws: { maxConnectionAgeMs: 1500 } });
    const log = recorder();
    const stream = candles(sim, { maxConnectionAge: 500 });
    await runUntil(t.store, stream, () => sim.wsStatus().stats.connectionsTotal >= 4);
    expect(sim.wsStatus().stats.ageCloses).toBe(0);
    freeze(sim);
    await runUntil(t.store, stream, () => inStep(t.store, sim), { log });
    expect(await inStep(t.store, sim)).toBe(true);
    expect(sim.wsStatus().stats.ageCloses).toBe(0);
  });

  it('a refused upgrade (401) fails the run in one line; a refused connection is retried', async () => {
    const { sim, t } = await setUp({ auth: { bearerTokens: [TOKEN] } });
    const stream = candles(sim, { tokenEnv: 'SIM_TOKEN' }, true);
    // A wrong token: the REST side is never reached, the socket is refused for good.
    const wrong = await runUntil(t.store, stream, () => false, {
      secret: () => 'not-the-token',
      timeoutMs: 3000,
    });
    expect(wrong.status).toBe('failed');
    expect(wrong.error).toMatch(/^stream "candles": ws:\/\/.+\/ws refused the WebSocket upgrade with 401/);
    expect(wrong.error).not.toContain('\n');
    expect(sim.wsStatus().stats.unauthorized).toBe(1);

    // The right token, also in the query: connects, and never logs it.
    const log = recorder();
    const ok = candles(sim, { tokenEnv: 'SIM_TOKEN', tokenQuery: true }, true);
    await runUntil(t.store, ok, () => sim!.wsStatus().stats.connectionsTotal >= 1, {
      log,
      secret: () => TOKEN,
    });
    expect(log.lines.some((l) => l.startsWith('websocket connected'))).toBe(true);
    expect(log.lines.join('\n')).not.toContain(TOKEN);

    // Nobody listening: retried with backoff until the run is stopped.
    const refusedLog = recorder();
    const refused = webSocketStream({
      ...candlesConfigOf(sim),
      websocket: { url: 'ws://127.0.0.1:9/ws', reconnect: { base: 10, max: 50 } },
    });
    const stopped = await runUntil(
      t.store,
      refused,
      () => refusedLog.lines.filter((l) => l.startsWith('websocket connect failed')).length >= 3,
      { log: refusedLog },
    );
    expect(stopped.status).toBe('interrupted');
    expect(refusedLog.lines[0]).toMatch(/ECONNREFUSED/);
  });

  it('refuses a bad config with a clear message', () => {
    const server = { url: 'http://127.0.0.1:1' } as SimulatorServer;
    expect(() => webSocketStream({ ...candlesConfigOf(server), websocket: { url: 'http://x/ws' } })).toThrow(
      new ConfigError('stream "candles": websocket.url: must start with ws:// or wss:// (got http://)'),
    );
    expect(() =>
      webSocketStream({
        ...candlesConfigOf(server),
        websocket: { url: 'ws://x/ws', heartbeet: {} } as never,
      }),
    ).toThrow(/websocket\.heartbeet: unknown key; did you mean "heartbeat"\?/);
    const { poll: _poll, ...withoutPoll } = candlesConfigOf(server);
    expect(() => webSocketStream(withoutPoll as never)).toThrow(/stream "candles": poll: /);
  });
});

describe('type: websocket in a YAML config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-ws-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (websocket: string) => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      [
        'streams:',
        '  - name: candles',
        '    type: websocket',
        '    key: [symbol, interval, open_time]',
        '    cursor: updated_at',
        '    version: version',
        `    websocket: ${websocket}`,
        '    poll:',
        '      request: { baseUrl: "http://127.0.0.1:4010", path: /v1/candles, query: { symbol: BTCUSDT } }',
        '      pagination: { type: link }',
        '      incremental: { param: updated_since, lookback: 10m }',
        '',
      ].join('\n'),
    );
    return loadProjectConfig({ file, store: join(dir, 'x.db') });
  };

  it('builds a WebSocket stream', async () => {
    const config = await load('{ url: "ws://127.0.0.1:4010/ws", tokenEnv: FEED_TOKEN, closed: closed }');
    const stream = config.streams.find((s) => s.name === 'candles')!;
    expect(stream.sourceInfo).toMatchObject({ kind: 'websocket', secrets: ['FEED_TOKEN'] });
    expect(stream.sourceInfo?.reads).toContain('ws://127.0.0.1:4010/ws live, gap-filled by GET');
  });

  it('refuses a misspelt or wrong field, naming it', async () => {
    await expect(load('{ url: "ws://127.0.0.1:4010/ws", flsuh: { maxRecords: 10 } }')).rejects.toThrow(
      /websocket\.flsuh: unknown key; did you mean "flush"\?/,
    );
    await expect(load('{ url: "https://feed.example.com/ws" }')).rejects.toThrow(
      /websocket\.url: must start with ws:\/\/ or wss:\/\//,
    );
  });
});

/** The plain config of `candles(sim)`, to vary one field. */
function candlesConfigOf(server: SimulatorServer): WebSocketStreamConfig {
  return {
    name: 'candles',
    key: ['symbol', 'interval', 'open_time'],
    cursor: 'updated_at',
    websocket: { url: `${server.url.replace(/^http/, 'ws')}/ws` },
    poll: {
      request: { baseUrl: server.url, path: '/v1/candles', query: { style: 'link' } },
      pagination: { type: 'link' },
    },
  };
}
