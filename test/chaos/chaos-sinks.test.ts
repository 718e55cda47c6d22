import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { feedChange } from '../../src/core/feed-change.ts';
import type { ChangeRow } from '../../src/core/types.ts';
import { createNatsSink } from '../../src/sinks/nats/nats-sink.ts';
import {
  checkSink,
  NATS_URL,
  natsObserver,
  type ReceivedEvent,
  redisObserver,
  type SinkObserver,
  sseObserver,
} from './chaos-sinks.ts';

function row(seq: number, stream = 'a', kind: ChangeRow['kind'] = 'insert'): ChangeRow {
  return {
    seq,
    stream,
    key: `k${seq}`,
    kind,
    hash: 'h',
    version: '1',
    runId: 'r',
    at: '2026-01-01T00:00:00Z',
  };
}

function received(seq: number, stream = 'a', channel = 'c', kind = 'insert'): ReceivedEvent {
  return { id: `${stream}:${seq}`, seq, stream, key: `k${seq}`, kind, channel };
}

function observer(events: ReceivedEvent[], config: Record<string, unknown> = {}, problems: string[] = []) {
  return {
    name: 'probe',
    env: {},
    config: () => ({ name: 'probe', ...config }),
    start: async () => {},
    events: async () => events,
    notes: () => '',
    problems: () => problems,
    stop: async () => {},
  } satisfies SinkObserver;
}

describe("checkSink (the chaos run's check of a sink against the change log)", () => {
  const log = [row(1), row(2, 'b'), row(3), row(5, 'b', 'delete')];

  it('passes at-least-once delivery in order, counting duplicates', async () => {
    const events = [1, 2, 1, 2, 3, 5].map((seq) => received(seq, seq % 2 === 0 || seq === 5 ? 'b' : 'a'));
    events[5] = received(5, 'b', 'c', 'delete');
    const check = await checkSink(observer(events), log);
    expect(check).toMatchObject({
      inLog: 4,
      received: 6,
      duplicates: 2,
      missing: 0,
      unknown: 0,
      outOfOrder: 0,
    });
  });

  it('finds a gap, an event the log does not hold, a wrong kind and a first receipt out of order', async () => {
    const events = [received(1), received(3), received(2, 'b'), received(9), received(5, 'b')];
    const check = await checkSink(observer(events), log);
    expect(check).toMatchObject({ missing: 1, unknown: 2, outOfOrder: 1 });
    expect(check.differences.join('\n')).toMatch(/b:2 first received after seq 3/);
    expect(check.differences.join('\n')).toMatch(/never received b:5/);
  });

  it("checks order per channel only, and only the rows the sink's filter selects", async () => {
    const events = [received(3, 'a', 'x'), received(1, 'a', 'y')];
    const check = await checkSink(observer(events, { streams: ['a'] }), log);
    expect(check).toMatchObject({ inLog: 2, missing: 0, unknown: 0, outOfOrder: 0 });
    const wrongStream = await checkSink(observer([received(2, 'b')], { streams: ['a'] }), log);
    expect(wrongStream).toMatchObject({ unknown: 1, missing: 2 });
  });

  it('counts what the consumer refused (a bad signature)', async () => {
    const events = [1, 2, 3, 5]
      .map((seq) => log.find((r) => r.seq === seq)!)
      .map((r) => ({
        ...received(r.seq, r.stream),
        kind: r.kind,
      }));
    const check = await checkSink(observer(events, {}, ['a request failed verification']), log);
    expect(check.invalid).toBe(1);
    expect(check.differences).toEqual(['probe: a request failed verification']);
  });

  it('says how to start Redis when there is none', async () => {
    await expect(redisObserver('redis://127.0.0.1:1').start()).rejects.toThrow(
      /needs Redis at redis:\/\/127\.0\.0\.1:1 .*redis-server --daemonize yes --bind 127\.0\.0\.1 --port 6379/,
    );
  });

  it('says how to start NATS when there is none', async () => {
    await expect(natsObserver('nats://127.0.0.1:1').start()).rejects.toThrow(
      /needs NATS with JetStream at nats:\/\/127\.0\.0\.1:1 .*start-stop-daemon --start --oknodo --background --exec \/usr\/sbin\/nats-server -- -a 127\.0\.0\.1 -p 4222 -js -sd \/var\/lib\/nats-server/,
    );
  });
});

describe("the chaos run's NATS observer", () => {
  it('reads back every message of the stream the sink created, in stream order, and deletes it (needs NATS at 127.0.0.1:4222)', async () => {
    const observer = natsObserver();
    await observer.start();
    const config = observer.config() as {
      subject: string;
      createStream: { name: string; subjects: string[] };
    };
    const sink = createNatsSink({
      name: 'chaos_nats',
      url: NATS_URL,
      subjectTemplate: config.subject,
      createStream: { ...config.createStream, maxAgeMs: null, duplicateWindowMs: null },
    });
    const log = [row(1), row(2, 'b'), row(3), row(5, 'b', 'delete')];
    try {
      expect(await observer.events()).toEqual([]); // no stream yet: nothing delivered
      const signal = new AbortController().signal;
      await sink.deliver(log.slice(0, 2).map(feedChange), signal);
      await sink.deliver(log.map(feedChange), signal); // a retry: the first two are dropped as duplicates
      const check = await checkSink(observer, log);
      expect(check).toMatchObject({
        inLog: 4,
        received: 4,
        duplicates: 0,
        missing: 0,
        unknown: 0,
        outOfOrder: 0,
      });
      expect(check.notes).toMatch(/4 messages/);
    } finally {
      await sink.close();
      await observer.stop();
    }
    const nc = await connect({ servers: NATS_URL });
    try {
      await expect((await jetstreamManager(nc)).streams.info(config.createStream.name)).rejects.toThrow(
        /not found/i,
      );
    } finally {
      await nc.close();
    }
  });
});

/**
 * A stand-in for `syncline run`'s GET /v1/events: serves `log` after the client's position, then
 * (per `plan`) cuts the connection after some events, or answers with a reset.
 */
function fakeService(log: readonly ChangeRow[], plan: { cutAfter?: number; resetAt?: number } = {}) {
  const requests: { since?: string | null; lastEventId?: string }[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    requests.push({ since: url.searchParams.get('since'), lastEventId });
    const after = Number(lastEventId ?? url.searchParams.get('since') ?? Number.POSITIVE_INFINITY);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (plan.resetAt === requests.length) {
      res.end(`event: reset\ndata: {"reason":"retention","oldestSeq":${log[0]?.seq ?? null}}\n\n`);
      return;
    }
    let sent = 0;
    for (const r of log.filter((x) => x.seq > after)) {
      res.write(`id: ${r.seq}\nevent: change\ndata: ${JSON.stringify(feedChange(r))}\n\n`);
      if (++sent === plan.cutAfter && requests.length === 1) {
        res.end(); // the service stopped mid-stream
        return;
      }
    }
    // then stays open, as a service does
  });
  return {
    requests,
    async listen() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe("the chaos run's SSE observer", () => {
  const log = [row(1), row(2, 'b'), row(3), row(5, 'b', 'delete')];

  async function until(check: () => boolean) {
    const end = Date.now() + 4000;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out');
      await sleep(20);
    }
  }

  it('starts from since=0, retries until a service answers, and resumes with Last-Event-ID after a cut', async () => {
    const observer = sseObserver({ retryMs: 20 });
    const service = fakeService(log, { cutAfter: 2 });
    await observer.start();
    try {
      observer.serviceListening!('http://127.0.0.1:1'); // nothing there: retried
      await sleep(100);
      observer.serviceListening!(await service.listen());
      await until(() => observer.position!() === 5);
      expect(service.requests[0]).toEqual({ since: '0', lastEventId: undefined });
      expect(service.requests[1]).toEqual({ since: null, lastEventId: '2' });
      const check = await checkSink(observer, log);
      expect(check).toMatchObject({ inLog: 4, received: 4, missing: 0, unknown: 0, outOfOrder: 0 });
      expect(check.notes).toMatch(/^2 connections, .*last seq 5$/);
    } finally {
      await observer.stop();
      await service.close();
    }
  });

  it('counts an event: reset after events as a problem', async () => {
    const observer = sseObserver({ retryMs: 20 });
    const service = fakeService(log, { cutAfter: 2, resetAt: 2 });
    await observer.start();
    try {
      observer.serviceListening!(await service.listen());
      await until(() => service.requests.length >= 2 && observer.problems().length > 0);
      const check = await checkSink(observer, log);
      expect(check.invalid).toBe(1);
      expect(check.differences[0]).toMatch(/chaos_sse: event: reset after seq 2/);
    } finally {
      await observer.stop();
      await service.close();
    }
  });

  it('starts after the oldest seq when the first answer is a reset (a PostgreSQL log whose seq 1 was never used)', async () => {
    const observer = sseObserver({ retryMs: 20 });
    const unused = [row(3), row(5, 'b', 'delete')];
    const service = fakeService(unused, { resetAt: 1 });
    await observer.start();
    try {
      observer.serviceListening!(await service.listen());
      await until(() => observer.position!() === 5);
      expect(service.requests[1]).toEqual({ since: '2', lastEventId: undefined });
      const check = await checkSink(observer, unused);
      expect(check).toMatchObject({ inLog: 2, received: 2, missing: 0, invalid: 0 });
      expect(check.notes).toMatch(/1 resets before the first event/);
    } finally {
      await observer.stop();
      await service.close();
    }
  });
});
