import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_AGE_CLOSE_CODE, MAX_AGE_CLOSE_REASON, type SimulatorOptions, startSimulator } from './index.ts';
import { rawGet, simulatorsForEachTest } from './simulator-test-client.ts';

const start = simulatorsForEachTest();

/** 1m candles close every 2 ticks of 20 ms. */
const FAST = { tickMs: 20, timeScale: 1500, pingIntervalMs: 0 };

interface Candle {
  id: string;
  symbol: string;
  interval: string;
  open_time: number;
  version: number;
  closed: boolean;
  updated_at: string;
}

/** A loopback client that records every text frame (raw and parsed) and how it closed. */
class FeedClient {
  readonly raw: string[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string; atMs: number }>;
  pings = 0;
  pongs = 0;

  constructor(url: string, options?: { headers?: Record<string, string> }) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => this.raw.push(String(data)));
    this.ws.on('ping', () => this.pings++);
    this.ws.on('pong', () => this.pongs++);
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: String(reason), atMs: Date.now() })),
    );
  }

  get messages(): { type: string; data?: Candle }[] {
    return this.raw.map((text) => JSON.parse(text));
  }

  get candles(): Candle[] {
    return this.messages.filter((m) => m.type === 'candle').map((m) => m.data!);
  }

  send(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  async until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out; ${this.raw.length} frames`);
      await sleep(5);
    }
  }
}

async function connect(url: string, subscribe?: unknown): Promise<FeedClient> {
  const client = new FeedClient(`${url.replace(/^http/, 'ws')}/ws`);
  await client.opened;
  if (subscribe !== undefined) {
    client.send(subscribe);
    await client.until(() => client.messages.some((m) => m.type === 'subscribed'));
  }
  return client;
}

const subscribe = (symbols: string[] | '*', interval = '1m') => ({
  op: 'subscribe',
  channel: 'candles',
  symbols,
  interval,
});

async function startFeed(ws: SimulatorOptions['ws'], extra: SimulatorOptions = {}) {
  return start({ datasets: { candles: 300 }, ws: { ...FAST, ...ws }, ...extra });
}

describe('the simulator live candle feed', () => {
  it('pushes candles that are the REST records, and a closed candle final frame equals the REST record', async () => {
    const sim = await startFeed({});
    const client = await connect(sim.url, subscribe(['BTCUSDT', 'ETHUSDT']));
    expect(client.messages[0]).toEqual({
      type: 'subscribed',
      channel: 'candles',
      symbols: ['BTCUSDT', 'ETHUSDT'],
      interval: '1m',
    });
    await client.until(() => client.candles.filter((c) => c.closed).length >= 6);
    client.ws.close();
    await client.closed;

    const frames = client.raw.filter((text) => text.startsWith('{"type":"candle"'));
    const candles = client.candles;
    expect(new Set(candles.map((c) => c.symbol))).toEqual(new Set(['BTCUSDT', 'ETHUSDT']));
    expect(candles.every((c) => c.interval === '1m')).toBe(true);
    let closedChecked = 0;
    const lastVersion = new Map<string, number>();
    for (const [i, candle] of candles.entries()) {
      // Versions only go up per candle; nothing comes after the final version.
      expect(candle.version).toBeGreaterThan(lastVersion.get(candle.id) ?? 0);
      expect(
        lastVersion.has(candle.id) && candles.some((c, j) => j < i && c.id === candle.id && c.closed),
      ).toBe(false);
      lastVersion.set(candle.id, candle.version);
      const res = await rawGet(`${sim.url}/v1/candles/${candle.id}`);
      expect(res.status).toBe(200);
      const rest = JSON.parse(res.body) as Candle;
      expect(rest.version).toBeGreaterThanOrEqual(candle.version);
      if (candle.closed) {
        // Byte for byte: the frame's data is the REST body.
        expect(frames[i]).toBe(`{"type":"candle","data":${res.body}}`);
        closedChecked++;
      } else if (rest.version === candle.version) {
        expect(rest).toEqual(candle);
      }
    }
    expect(closedChecked).toBeGreaterThanOrEqual(6);
    expect(candles.some((c) => !c.closed)).toBe(true);
    // Consecutive candles of a series: the next opens where the previous one closed.
    const btc = [...new Set(candles.filter((c) => c.symbol === 'BTCUSDT').map((c) => c.open_time))];
    for (let i = 1; i < btc.length; i++) expect(btc[i]! - btc[i - 1]!).toBe(60_000);
  });

  it('keeps forming candles while nobody listens, and the REST API has the ones a client missed', async () => {
    const sim = await startFeed({});
    const first = await connect(sim.url, subscribe(['SOLUSDT']));
    await first.until(() => first.candles.length >= 2);
    first.ws.close();
    await first.closed;
    const seen = new Set(first.candles.map((c) => c.id));
    const gapStart = Math.max(...first.candles.map((c) => Date.parse(c.updated_at)));
    await sleep(200);
    const second = await connect(sim.url, subscribe(['SOLUSDT']));
    await second.until(() => second.candles.length >= 1);
    second.ws.close();
    const reconnectedAt = second.candles[0]!;
    const res = await rawGet(
      `${sim.url}/v1/candles?symbol=SOLUSDT&interval=1m&limit=1000&updated_since=${new Date(gapStart).toISOString()}`,
    );
    const listed = (JSON.parse(res.body) as { data: Candle[] }).data;
    const missed = listed.filter((c) => !seen.has(c.id) && c.open_time < reconnectedAt.open_time && c.closed);
    expect(missed.length).toBeGreaterThanOrEqual(2);
    expect(sim.wsStatus().stats.liveSeries).toEqual(['SOLUSDT 1m']);
  });

  it('answers op ping with pong, sends protocol pings and answers the client ones', async () => {
    const sim = await startFeed({ pingIntervalMs: 30 });
    const client = await connect(sim.url);
    client.send({ op: 'ping' });
    client.ws.ping();
    await client.until(
      () => client.raw.includes('{"type":"pong"}') && client.pongs === 1 && client.pings >= 2,
    );
    client.send({ op: 'nope' });
    client.send(subscribe(['BTCUSDT'], '2m'));
    await client.until(() => client.messages.filter((m) => m.type === 'error').length === 2);
  });

  it('sends duplicate frames at the configured share and counts them', async () => {
    const sim = await startFeed({ duplicateShare: 0.3, tickMs: 10, timeScale: 1 });
    const client = await connect(sim.url, subscribe('*'));
    await client.until(() => client.candles.length >= 1000, 5000);
    client.ws.close();
    await client.closed;
    const stats = sim.wsStatus().stats;
    let seenTwice = 0;
    for (let i = 1; i < client.raw.length; i++) if (client.raw[i] === client.raw[i - 1]) seenTwice++;
    expect(seenTwice).toBe(stats.duplicates);
    const draws = stats.candleFrames - stats.duplicates;
    expect(stats.duplicates / draws).toBeGreaterThan(0.24);
    expect(stats.duplicates / draws).toBeLessThan(0.36);
    expect(stats.drops + stats.stalls).toBe(0);
  });

  it('drops connections abruptly (1006) at the configured share and counts them', async () => {
    const sim = await startFeed({ dropShare: 0.05, tickMs: 10, timeScale: 1 });
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await connect(sim.url, subscribe('*'));
      codes.push((await client.closed).code);
    }
    expect(codes).toEqual(Array(20).fill(1006));
    const stats = sim.wsStatus().stats;
    expect(stats.drops).toBe(20);
    const share = stats.drops / (stats.candleFrames + stats.drops);
    expect(share).toBeGreaterThan(0.025);
    expect(share).toBeLessThan(0.1);
  });

  it('stalls a connection: no frames, no pongs, then drops it after stallMs', async () => {
    const sim = await startFeed({ stallShare: 1, stallMs: 400, pingIntervalMs: 20 });
    const client = await connect(sim.url, subscribe(['BTCUSDT']));
    const stalledAt = Date.now();
    const pingsBefore = client.pings;
    client.send({ op: 'ping' });
    client.ws.ping();
    await sleep(250);
    expect(client.raw.map((t) => JSON.parse(t).type)).toEqual(['subscribed']);
    expect(client.pongs).toBe(0);
    expect(client.pings).toBe(pingsBefore);
    const closed = await client.closed;
    expect(closed.code).toBe(1006);
    expect(closed.atMs - stalledAt).toBeGreaterThanOrEqual(350);
    await client.until(() => sim.wsStatus().stats.connections === 0);
    expect(sim.wsStatus().stats).toMatchObject({ stalls: 1, drops: 0 });
  });

  it('closes a connection at its maximum age with code 4000 and a reason', async () => {
    const sim = await startFeed({ maxConnectionAgeMs: 200 });
    const openedAt = Date.now();
    const client = await connect(sim.url, subscribe(['BTCUSDT']));
    const closed = await client.closed;
    expect(closed.code).toBe(MAX_AGE_CLOSE_CODE);
    expect(closed.reason).toBe(MAX_AGE_CLOSE_REASON);
    expect(closed.atMs - openedAt).toBeGreaterThanOrEqual(190);
    expect(client.candles.length).toBeGreaterThan(0);
    expect(sim.wsStatus().stats.ageCloses).toBe(1);
  });

  it('demands the API credential on upgrade (?token= or Authorization) and refuses others with 401', async () => {
    const sim = await startFeed({}, { auth: { bearerTokens: ['tok'], apiKeys: ['key'] } });
    const ws = sim.url.replace(/^http/, 'ws');
    await expect(new FeedClient(`${ws}/ws`).opened).rejects.toThrow('HTTP 401');
    await expect(new FeedClient(`${ws}/ws?token=wrong`).opened).rejects.toThrow('HTTP 401');
    await expect(new FeedClient(`${ws}/nope?token=tok`).opened).rejects.toThrow('HTTP 404');
    for (const client of [
      new FeedClient(`${ws}/ws?token=tok`),
      new FeedClient(`${ws}/ws?token=key`),
      new FeedClient(`${ws}/ws?api_key=key`),
      new FeedClient(`${ws}/ws`, { headers: { Authorization: 'Bearer tok' } }),
    ]) {
      await client.opened;
      client.ws.close();
    }
    expect(sim.wsStatus().stats).toMatchObject({ unauthorized: 2, connectionsTotal: 4 });
  });

  it('is configured through /_admin/ws, which also serves the counters', async () => {
    const sim = await startFeed({});
    const post = await fetch(`${sim.url}/_admin/ws`, {
      method: 'POST',
      body: JSON.stringify({ duplicateShare: 0.5, maxConnectionAgeMs: 60_000 }),
    });
    expect(post.status).toBe(200);
    expect(((await post.json()) as { config: object }).config).toMatchObject({
      duplicateShare: 0.5,
      maxConnectionAgeMs: 60_000,
      dropShare: 0,
    });
    const bad = await fetch(`${sim.url}/_admin/ws`, {
      method: 'POST',
      body: JSON.stringify({ dropShare: 0.7, stallShare: 0.7 }),
    });
    expect(bad.status).toBe(400);
    const client = await connect(sim.url, subscribe(['BTCUSDT']));
    await client.until(() => client.candles.length >= 4);
    const got = (await (await fetch(`${sim.url}/_admin/ws`)).json()) as {
      stats: { connections: number; framesSent: number; duplicates: number };
    };
    expect(got.stats.connections).toBe(1);
    expect(got.stats.duplicates).toBeGreaterThan(0);
    expect(got.stats.framesSent).toBeGreaterThanOrEqual(client.raw.length);
  });

  it('closes every socket on sim.close()', async () => {
    const sim = await startSimulator({ datasets: { candles: 300 }, ws: FAST });
    const clients = [await connect(sim.url, subscribe('*')), await connect(sim.url)];
    await sim.close();
    for (const client of clients) expect((await client.closed).code).toBe(1001);
  });
});
