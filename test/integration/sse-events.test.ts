import { request as httpRequest, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { SseSinkSettings } from '../../src/config/define-config.ts';
import { type ResolvedSseSink, resolveConfig } from '../../src/config/load-config.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { type ApiServer, startApiServer } from '../../src/server/start-api-server.ts';
import { createSseChannel, type SseChannel } from '../../src/sinks/sse/sse-channel.ts';
import { FakeScheduler, fakeMetrics } from '../helpers/fake-service.ts';
import { connectSse, type SseConnection } from '../helpers/sse-client.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const TOKEN = 'sse-s3cret';

interface Item {
  id: number;
  v: number;
  pad?: string;
}

function capturingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (obj: object | string, msg?: string) => lines.push(JSON.stringify([obj, msg]));
  return { lines, debug: () => {}, info: keep, warn: keep, error: keep };
}

/**
 * A real store, a real API server on loopback serving one sse sink, and `commit`: one real run of
 * a stream through the engine (its `page:committed` wakes the clients, as in `syncline run`).
 */
interface World {
  t: TestStore;
  url: string;
  channel: SseChannel;
  log: ReturnType<typeof capturingLog>;
  /** Sets the stream's records to `items` and syncs it once: new ids insert, changed ones update. */
  commit(stream: string, items: Item[]): Promise<void>;
  headers: Record<string, string>;
}

const STREAMS = ['items', 'other', 'third'] as const;

describe.each(['sqlite', 'postgres'] as const)('GET /v1/events (the sse sink) on %s', (kind) => {
  let world: World | null = null;
  let server: ApiServer | null = null;
  const connections: SseConnection[] = [];
  // What does not depend on the store (filters, heartbeats, limits, auth) is declared once, on SQLite.
  const storeIndependent = (name: string, fn: () => Promise<void>, timeout?: number): void => {
    if (kind === 'sqlite') it(name, fn, timeout);
  };

  afterEach(async () => {
    for (const c of connections.splice(0)) c.close();
    world?.channel.close();
    await server?.close();
    await world?.t.dispose();
    world = null;
    server = null;
  });

  async function setup(
    sink: Partial<SseSinkSettings> = {},
    options: { token?: string | null; sse?: boolean } = {},
  ): Promise<World> {
    const t = await makeTestStore(kind);
    const records = new Map<string, Item[]>(STREAMS.map((s) => [s, []]));
    const definitions: AnyStreamDefinition[] = STREAMS.map((name) => ({
      name,
      key: 'id',
      source: async function* () {
        yield { records: records.get(name)!, checkpoint: null };
      },
    }));
    const config = resolveConfig({
      streams: definitions,
      sinks: options.sse === false ? [] : [{ name: 'events', type: 'sse', heartbeat: '5s', ...sink }],
    } as never);
    const bus = new SyncEventBus();
    const log = capturingLog();
    const sse = config.sinks[0] as ResolvedSseSink | undefined;
    const channel = createSseChannel({
      name: 'events',
      streams: sse?.streams ?? [],
      kinds: sse?.kinds ?? [],
      data: sse?.data ?? true,
      heartbeatMs: sse?.heartbeatMs ?? 5000,
      maxBuffered: sse?.maxBuffered ?? 1000,
      maxClients: sse?.maxClients ?? 100,
      knownStreams: [...STREAMS],
      feed: t.store,
      events: bus,
      log,
    });
    const control = createServiceControl({
      store: t.store,
      config,
      scheduler: new FakeScheduler([...STREAMS]),
      metrics: fakeMetrics(),
      events: options.sse === false ? null : channel,
    });
    const token = options.token === undefined ? null : options.token;
    const app = createApiApp(control, { token, log });
    server = await startApiServer({ app, listen: '127.0.0.1:0', token, log });
    world = {
      t,
      url: server.url,
      channel,
      log,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      async commit(stream, items) {
        records.set(stream, items);
        await runStream({
          store: t.store,
          stream: definitions.find((d) => d.name === stream)!,
          holder: newHolderId(),
          events: bus,
          log,
        });
      },
    };
    return world;
  }

  async function connect(w: World, query = '', headers: Record<string, string> = {}) {
    const c = await connectSse(`${w.url}/v1/events${query}`, { ...w.headers, ...headers });
    connections.push(c);
    return c;
  }

  const items = (from: number, to: number, v = 0): Item[] =>
    Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, v }));

  it('sends the changes committed after connecting, in seq order with id = seq; Last-Event-ID and since resume with no gap and no duplicate', async () => {
    const w = await setup();
    await w.commit('items', items(1, 2)); // before connecting: not sent (a client starts at the end)
    const a = await connect(w);
    expect(a.response.status).toBe(200);
    expect(a.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await a.until((m) => m.some((x) => x.comment?.startsWith('connected') === true));
    await w.commit('items', items(1, 5));
    await a.until(() => a.changes().length >= 3);
    const first = a.changes();
    expect(first.map((c) => c.data['key'])).toEqual(['3', '4', '5']);
    for (const c of first) {
      expect(c.id).toBe(String(c.data['seq']));
      expect(c.data).toMatchObject({ id: `items:${c.id}`, stream: 'items', kind: 'insert' });
    }
    expect(first[1]!.data['data']).toEqual({ id: 4, v: 0 });
    const seqs = first.map((c) => Number(c.id));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    a.close();

    // Missed while disconnected: an update and two inserts.
    await w.commit('items', [...items(1, 4), { id: 5, v: 1 }, ...items(6, 7)]);
    const all = (await w.t.store.readChanges({ afterSeq: 0, limit: 100 })).map((r) => String(r.seq));
    // The header wins over ?since.
    const b = await connect(w, '?since=0', { 'last-event-id': first.at(-1)!.id });
    await b.until(() => b.changes().length >= 3);
    await sleep(100);
    const resumed = b.changes();
    expect([...first, ...resumed].map((c) => c.id)).toEqual(all.slice(2));
    expect(resumed.map((c) => c.data['kind'])).toEqual(['update', 'insert', 'insert']);

    const c = await connect(w, `?since=${all[0]}`);
    await c.until(() => c.changes().length >= all.length - 1);
    await sleep(100);
    expect(c.changes().map((x) => x.id)).toEqual(all.slice(1));
  });

  storeIndependent(
    'narrows the sink to the query’s streams and kinds; data: false leaves data out; refuses what the sink does not allow',
    async () => {
      const w = await setup({ streams: ['items', 'other'], data: false });
      const narrow = await connect(w, '?streams=other&kinds=update');
      const wide = await connect(w);
      await w.commit('items', items(1, 2));
      await w.commit('other', items(1, 2));
      await w.commit('third', items(1, 2)); // outside the sink
      await w.commit('other', [{ id: 1, v: 1 }, ...items(2, 2)]);
      await wide.until(() => wide.changes().length >= 5);
      await narrow.until(() => narrow.changes().length >= 1);
      await sleep(100);
      expect(wide.changes().map((c) => `${c.data['stream']} ${c.data['kind']}`)).toEqual([
        'items insert',
        'items insert',
        'other insert',
        'other insert',
        'other update',
      ]);
      expect(narrow.changes().map((c) => c.data['id'])).toEqual([`other:${narrow.changes()[0]!.id}`]);
      expect(narrow.changes()[0]!.data).not.toHaveProperty('data');
      expect(narrow.changes()[0]!.data).toMatchObject({ stream: 'other', kind: 'update', key: '1' });

      const refused: [string, string][] = [
        ['?streams=third', '"third" is not among the streams of sse sink "events" (items, other)'],
        ['?streams=nope', 'unknown stream "nope"'],
        ['?kinds=upsert', 'unknown kind "upsert"'],
        ['?since=abc', 'since: must be a seq'],
        ['?since=999999', 'past the end of the change log'],
        ['?limit=3', 'unknown field "limit"'],
      ];
      for (const [query, message] of refused) {
        const response = await fetch(`${w.url}/v1/events${query}`);
        expect({ query, status: response.status }).toEqual({ query, status: 400 });
        expect(((await response.json()) as { error: { message: string } }).error.message).toContain(message);
      }
      const badHeader = await fetch(`${w.url}/v1/events`, { headers: { 'last-event-id': 'x1' } });
      expect(badHeader.status).toBe(400);
    },
  );

  storeIndependent('sends a heartbeat comment every heartbeat', async () => {
    const w = await setup({ heartbeat: '100ms' });
    const a = await connect(w);
    await a.until((m) => m.filter((x) => x.comment === 'heartbeat').length >= 2, 2000);
  });

  storeIndependent(
    'disconnects a client that stops reading once more than maxBuffered events wait, and keeps serving the others',
    async () => {
      const w = await setup({ maxBuffered: 5, heartbeat: '300ms' });
      const reader = await connect(w);
      // A client that reads its headers and then nothing: its socket fills, then the server's queue.
      const slow = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(`${w.url}/v1/events`, (res) => {
          res.pause();
          resolve(res);
        });
        req.on('error', reject);
        req.end();
      });
      expect(slow.statusCode).toBe(200);
      await reader.until(() => w.channel.clients() === 2);
      // A burst far larger than the socket buffers (they took ~4 MB here before the queue filled).
      const BURST = 1200;
      const sent = () => reader.messages.filter((m) => m.event === 'change').length;
      const pad = 'x'.repeat(8000);
      await w.commit(
        'items',
        Array.from({ length: BURST }, (_, i) => ({ id: i + 1, v: 0, pad })),
      );
      // Generous: on a loaded machine the burst's commit and reads alone took over 8 s.
      const end = Date.now() + 25_000;
      while (w.channel.clients() !== 1 && Date.now() < end) await sleep(20);
      expect(w.channel.clients()).toBe(1);
      // The server cut the connection: read again, the client finds its end before the burst's.
      const cut = new Promise<string>((resolve) => {
        slow.on('error', () => resolve('error'));
        slow.on('close', () => resolve('close'));
      });
      let received = 0;
      let tail = '';
      slow.on('data', (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString('utf8')).slice(-2000);
      });
      slow.resume();
      expect(await cut).toBeDefined();
      // Cut mid-stream, or (when its socket took the last few in time) ended after `event: error`.
      if (slow.complete) expect(tail).toMatch(/event: error\ndata: \{"reason":"client too slow: /);
      expect(received).toBeLessThan(BURST * 8000);
      expect(w.log.lines.join('\n')).toContain('client too slow');
      await reader.until(() => sent() >= BURST);
      await w.commit('items', [{ id: 1, v: 1, pad }]);
      await reader.until(() => sent() >= BURST + 1);
      expect(reader.changes().at(-1)!.data['kind']).toBe('update');
    },
    45_000,
  );

  storeIndependent('answers 503 past maxClients, and takes a client again once one left', async () => {
    const w = await setup({ maxClients: 2 });
    const a = await connect(w);
    await connect(w);
    const over = await fetch(`${w.url}/v1/events`);
    expect(over.status).toBe(503);
    const body = (await over.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('too_many_clients');
    expect(body.error.message).toContain('at most 2 clients');
    a.close();
    const end = Date.now() + 3000;
    while (w.channel.clients() > 1 && Date.now() < end) await sleep(10);
    expect(w.channel.clients()).toBe(1);
    const again = await connect(w);
    expect(again.response.status).toBe(200);
  });

  storeIndependent('requires the bearer token when the service has one', async () => {
    const w = await setup({}, { token: TOKEN });
    const without = await fetch(`${w.url}/v1/events`);
    expect(without.status).toBe(401);
    expect(w.channel.clients()).toBe(0);
    const wrong = await fetch(`${w.url}/v1/events`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const a = await connect(w);
    expect(a.response.status).toBe(200);
    await a.until(() => w.channel.clients() === 1);
  });

  it('sends one reset event and ends when retention pruned changes after since', async () => {
    const w = await setup();
    await w.commit('items', items(1, 4));
    expect(await w.t.store.pruneChanges({ olderThan: '2999-01-01T00:00:00.000Z', limit: 1000 })).toBe(4);
    // Emptied by retention: what came after seq 2 is gone.
    const gone = await connect(w, '?since=2');
    expect(await gone.ended).toBe(true);
    expect(gone.messages).toEqual([{ event: 'reset', data: expect.stringContaining('"oldestSeq":null') }]);
    await w.commit('items', items(1, 5));
    const [oldest] = await w.t.store.readChanges({ afterSeq: 0, limit: 1 });
    const reset = await connect(w, '', { 'last-event-id': '2' });
    expect(await reset.ended).toBe(true);
    expect(reset.messages).toHaveLength(1);
    expect(reset.messages[0]!.event).toBe('reset');
    const data = JSON.parse(reset.messages[0]!.data!) as { reason: string; oldestSeq: number };
    expect(data.oldestSeq).toBe(oldest!.seq);
    expect(data.reason).toContain('retention pruned');
    // Right before the oldest row held: nothing was lost, it streams.
    const fine = await connect(w, `?since=${oldest!.seq - 1}`);
    await fine.until(() => fine.changes().length === 1);
    expect(fine.changes()[0]!.id).toBe(String(oldest!.seq));
  });

  storeIndependent('answers 404 saying how to add an sse sink when the config has none', async () => {
    const w = await setup({}, { sse: false });
    const response = await fetch(`${w.url}/v1/events`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain(
      'the config has no sse sink: add `- name: events, type: sse` under sinks:',
    );
    const doc = (await (await fetch(`${w.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string; in: string }[]; responses: object } }>;
    };
    const events = doc.paths['/v1/events']!.get;
    expect(events.parameters.map((p) => `${p.in} ${p.name}`)).toEqual([
      'query streams',
      'query kinds',
      'query since',
      'header Last-Event-ID',
    ]);
    expect(events.responses).toMatchObject({
      200: { content: { 'text/event-stream': {} } },
      401: {},
      404: { description: 'The config has no sse sink' },
      503: {},
    });
  });
});
