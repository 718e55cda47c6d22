import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { ConfigError, TransientError } from '../../src/core/errors.ts';
import type { FeedChange } from '../../src/core/feed-change.ts';
import type { Sink } from '../../src/core/sink.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { buildSink } from '../../src/runtime/sinks.ts';
import { sync } from '../../src/runtime/sync.ts';
import { createNatsSink } from '../../src/sinks/nats/nats-sink.ts';
import { fakeEvent, useDeliveryRig } from '../helpers/sink-rig.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';

const NATS_URL = 'nats://127.0.0.1:4222';
const DOWN =
  'NATS (with JetStream) is not answering on 127.0.0.1:4222; start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server';

function config(name: string, n: number, rev = 0): SynclineConfig {
  return testStreamConfig(
    Array.from({ length: n }, (_, i) => testRecord(i, rev)),
    { name },
  );
}

let admin: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  try {
    admin = await connect({ servers: NATS_URL, timeout: 2000, reconnect: false });
    jsm = await jetstreamManager(admin, { timeout: 2000 });
    await jsm.getAccountInfo();
  } catch {
    throw new Error(DOWN);
  }
});
afterAll(async () => {
  await admin?.close();
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('the NATS JetStream sink', () => {
  /** This test's own subject prefix and JetStream stream, deleted after it. */
  let prefix: string;
  let streamName: string;
  const sinks: Sink[] = [];
  const created: string[] = [];
  beforeEach(async () => {
    const id = randomUUID().replaceAll('-', '');
    prefix = `t${id}`;
    streamName = `syncline-test-${id}`;
    await jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`] });
    created.push(streamName);
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    for (const name of created.splice(0)) await jsm.streams.delete(name).catch(() => undefined);
  });
  const sink = (extra: { url?: string; name?: string; subject?: string; ackTimeoutMs?: number } = {}) => {
    const built = createNatsSink({
      name: extra.name ?? 'nats',
      url: extra.url ?? NATS_URL,
      subjectTemplate: extra.subject ?? `${prefix}.{stream}.{kind}`,
      connectTimeoutMs: 1000,
      ...(extra.ackTimeoutMs !== undefined ? { ackTimeoutMs: extra.ackTimeoutMs } : {}),
    });
    sinks.push(built);
    return built;
  };
  /** Every message of the test's JetStream stream, in its order. */
  const messages = async (name = streamName) => {
    const { state } = await jsm.streams.info(name);
    const out: { subject: string; msgId: string | undefined; event: FeedChange; seq: number }[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq += 1) {
      const m = await jsm.streams.getMessage(name, { seq });
      if (!m) continue;
      out.push({
        subject: m.subject,
        msgId: m.header?.get('Nats-Msg-Id'),
        event: m.json<FeedChange>(),
        seq: m.seq,
      });
    }
    return out;
  };
  const event = fakeEvent;

  describe('delivering from the change log on SQLite', () => {
    const rig = useDeliveryRig('sink:nats');
    const { start, until, highestSeq } = rig;

    it('publishes every change in seq order to <prefix>.<stream>.<kind>, with Nats-Msg-Id = the event id', async () => {
      await sync(config('items', 25), { store: rig.t.location });
      await sync(config('others', 7), { store: rig.t.location });
      // The source resumes after index 25: two updates and a delete of items already sent.
      const later = [
        ...Array.from({ length: 25 }, (_, i) => testRecord(i)),
        testRecord(0, 1),
        testRecord(1, 1),
      ];
      later.push({ ...testRecord(2, 1), deleted: true });
      await sync(testStreamConfig(later, { name: 'items' }), { store: rig.t.location });
      const runner = start(sink());
      const last = await highestSeq();
      await until(() => runner.status().offset === last);
      const stored = await messages();
      const all = await rig.t.store.readChanges({ afterSeq: 0, limit: 100_000 });
      expect(stored.map((m) => m.event.seq)).toEqual(all.map((c) => c.seq));
      for (const m of stored) {
        expect(m.subject).toBe(`${prefix}.${m.event.stream}.${m.event.kind}`);
        expect(m.msgId).toBe(m.event.id);
      }
      expect(stored.filter((m) => m.event.stream === 'items' && m.event.kind === 'insert')).toHaveLength(25);
      expect(stored.filter((m) => m.event.stream === 'others')).toHaveLength(7);
      expect(stored.filter((m) => m.event.kind === 'update').map((m) => m.subject)).toEqual([
        `${prefix}.items.update`,
        `${prefix}.items.update`,
      ]);
      expect(stored.filter((m) => m.event.kind === 'delete').map((m) => m.event.key)).toEqual(['2']);
      // `data` is the key's latest state when read: key 0 was updated since.
      expect(stored[0]!.event).toMatchObject({
        id: stored[0]!.msgId,
        seq: 1,
        stream: 'items',
        data: testRecord(0, 1),
      });
    });

    it('moves the offset only after the acks: it stays put while NATS is unreachable, then delivers', async () => {
      await sync(config('items', 12), { store: rig.t.location });
      const last = await highestSeq();
      const failing = start(sink({ url: `nats://127.0.0.1:${await closedPort()}` }));
      await until(() => failing.status().state === 'retrying');
      await new Promise((r) => setTimeout(r, 200));
      expect(failing.status()).toMatchObject({ state: 'retrying', offset: 0 });
      expect(failing.status().lastError).toContain('cannot connect to NATS at nats://127.0.0.1:');
      expect((await rig.t.store.readChanges({ afterSeq: 0, limit: 100 })).length).toBe(12);
      rig.stop();
      await failing.done;
      expect(await messages()).toHaveLength(0);

      const working = start(sink());
      await until(() => working.status().offset === last);
      expect((await messages()).map((m) => m.event.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    });
  });

  it('leaves one message per id when a batch is published again (JetStream dedupe; a duplicate PubAck is success)', async () => {
    const target = sink();
    const signal = new AbortController().signal;
    const batch = Array.from({ length: 50 }, (_, i) => event(i + 1));
    expect(await target.deliver(batch, signal)).toEqual({ rejected: [] });
    expect(await target.deliver(batch, signal)).toEqual({ rejected: [] }); // the runner's retry
    expect(await target.deliver(batch.slice(10, 20), signal)).toEqual({ rejected: [] });
    const stored = await messages();
    expect(stored.map((m) => m.msgId)).toEqual(batch.map((e) => e.id));
    expect(stored.map((m) => m.event.seq)).toEqual(batch.map((e) => e.seq));
  });

  it('is transient, naming the subject, when no JetStream stream captures it', async () => {
    const error = await sink({ subject: `nostream${prefix}.{stream}` })
      .deliver([event(1), event(2)], new AbortController().signal)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    const message = (error as Error).message;
    expect(message).toContain(`no JetStream stream captures subject "nostream${prefix}.items"`);
    expect(message).toContain('2 of 2 events not confirmed');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('rejects an event larger than max_payload for good and delivers the rest', async () => {
    const big = event(2, 'items', { data: { blob: 'x'.repeat(admin.info!.max_payload + 10) } } as never);
    const result = await sink().deliver([event(1), big, event(3)], new AbortController().signal);
    expect(result.rejected.map((r) => r.event.id)).toEqual(['items:2']);
    expect(result.rejected[0]!.reason).toContain("larger than the NATS server's max_payload");
    expect((await messages()).map((m) => m.msgId)).toEqual(['items:1', 'items:3']);
  });

  it('is transient when NATS cannot be reached, and never shows the password', async () => {
    const port = await closedPort();
    const error = await sink({ url: `nats://user:s3cr3t-pw@127.0.0.1:${port}` })
      .deliver([event(1)], new AbortController().signal)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    const message = (error as Error).message;
    expect(message).toContain('cannot connect to NATS at nats://user:***@127.0.0.1:');
    expect(message).not.toContain('s3cr3t-pw');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('is transient when the connection is lost mid-batch; the retry reconnects and stores each event once', async () => {
    // A TCP proxy to the server that can swallow the server's replies (the PubAcks) and then cut.
    const port = await closedPort();
    let hold = false;
    const sockets = new Set<Socket>();
    const startProxy = async () => {
      const server = createServer((client) => {
        const upstream = tcpConnect(4222, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => sockets.delete(s));
        }
        client.on('data', (d) => upstream.write(d));
        upstream.on('data', (d) => {
          if (!hold) client.write(d);
        });
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
      return server;
    };
    const closeProxy = async (server: Server) => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    };
    let proxy = await startProxy();
    try {
      const target = sink({ url: `nats://127.0.0.1:${port}`, ackTimeoutMs: 1500 });
      const signal = new AbortController().signal;
      await target.deliver([event(1)], signal);
      hold = true;
      const batch = [event(2), event(3), event(4)];
      const pending = target.deliver(batch, signal).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200)); // the publishes reached the server; their acks did not come back
      await closeProxy(proxy);
      hold = false;
      const error = await pending;
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain('3 of 3 events not confirmed');
      proxy = await startProxy();
      // The runner's retry of the same batch, until the client has reconnected.
      const end = Date.now() + 15_000;
      for (;;) {
        const outcome = await target.deliver(batch, signal).catch((e: unknown) => e);
        if (!(outcome instanceof Error)) break;
        expect(outcome).toBeInstanceOf(TransientError);
        if (Date.now() > end) throw outcome;
      }
      expect((await messages()).map((m) => m.msgId)).toEqual(['items:1', 'items:2', 'items:3', 'items:4']);
    } finally {
      await closeProxy(proxy);
    }
  }, 30_000);

  it('is transient when an ack does not come in time', async () => {
    // A plain subscriber on a subject no stream captures: the publish has a responder that never acks.
    const subject = `slow${prefix}`;
    const sub = admin.subscribe(`${subject}.>`);
    try {
      const error = await sink({ subject: `${subject}.{stream}`, ackTimeoutMs: 200 })
        .deliver([event(1), event(2)], new AbortController().signal)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain(
        `publish to "${subject}.items" failed: no PubAck before the timeout`,
      );
      expect((error as Error).message).toContain('2 of 2 events not confirmed');
    } finally {
      sub.unsubscribe();
    }
  });

  it('gives up on the acks in flight when the signal aborts', async () => {
    // A plain subscriber on a subject no stream captures: the publish has a responder that never acks.
    const subject = `hang${prefix}`;
    const sub = admin.subscribe(`${subject}.>`);
    try {
      const target = sink({ subject: `${subject}.{stream}`, ackTimeoutMs: 30_000 });
      const abort = new AbortController();
      const started = Date.now();
      const pending = target.deliver([event(1)], abort.signal).catch((e: unknown) => e);
      setTimeout(() => abort.abort(new Error('stopped')), 100);
      const error = await pending;
      expect((error as Error).message).toBe('stopped');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      sub.unsubscribe();
    }
  });

  it('is built from the config by buildSink, and creates its JetStream stream when absent', async () => {
    const name = `syncline-test-created-${randomUUID().replaceAll('-', '')}`;
    created.push(name);
    const resolved = resolveConfig({
      streams: [{ name: 'items', key: 'id', source: async function* () {} }],
      sinks: [
        {
          name: 'events',
          type: 'nats',
          subject: `c${prefix}.{stream}.{kind}`,
          createStream: { name, maxAge: '1h', duplicateWindow: '10m' },
        },
      ],
    } as never);
    expect(resolved.sinks[0]).toMatchObject({
      type: 'nats',
      url: NATS_URL,
      subjectTemplate: `c${prefix}.{stream}.{kind}`,
      createStream: { name, subjects: [`c${prefix}.*.*`], maxAgeMs: 3_600_000, duplicateWindowMs: 600_000 },
      batchSize: 100,
    });
    const built = await buildSink(resolved.sinks[0]!);
    sinks.push(built);
    await built.deliver(
      [event(1), event(2, 'items', { kind: 'delete' } as never)],
      new AbortController().signal,
    );
    const info = await jsm.streams.info(name);
    expect(info.config.subjects).toEqual([`c${prefix}.*.*`]);
    expect(info.config.duplicate_window).toBe(600_000 * 1_000_000);
    expect((await messages(name)).map((m) => m.subject)).toEqual([
      `c${prefix}.items.insert`,
      `c${prefix}.items.delete`,
    ]);
    // Deleted behind its back: the delivery fails (transient), and its retry creates the stream again.
    await jsm.streams.delete(name);
    const error = await built.deliver([event(3)], new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    await built.deliver([event(3)], new AbortController().signal);
    expect((await messages(name)).map((m) => m.msgId)).toEqual(['items:3']);
  });

  it('logs in with the token and user/password read from the environment', async () => {
    // The test server has no auth: this proves the variables are read (and required), not checked.
    process.env['NATS_TEST_USER'] = 'someone';
    process.env['NATS_TEST_PASSWORD'] = 'pw';
    try {
      const resolved = resolveConfig({
        streams: [{ name: 'items', key: 'id', source: async function* () {} }],
        sinks: [
          {
            name: 'events',
            type: 'nats',
            subject: `${prefix}.{stream}`,
            userEnv: 'NATS_TEST_USER',
            passwordEnv: 'NATS_TEST_PASSWORD',
          },
        ],
      } as never);
      expect(resolved.sinks[0]).toMatchObject({
        auth: { userEnv: 'NATS_TEST_USER', passwordEnv: 'NATS_TEST_PASSWORD' },
      });
      const built = await buildSink(resolved.sinks[0]!);
      sinks.push(built);
      await built.deliver([event(1)], new AbortController().signal);
      expect(await messages()).toHaveLength(1);
    } finally {
      delete process.env['NATS_TEST_USER'];
      delete process.env['NATS_TEST_PASSWORD'];
    }
  });
});

describe('the NATS sink in the config', () => {
  const resolve = (sink: Record<string, unknown>) =>
    resolveConfig(
      {
        streams: [{ name: 'items', key: 'id', source: async function* () {} }],
        sinks: [{ name: 'events', type: 'nats', ...sink }],
      } as never,
      'syncline.config.ts',
    );
  const message = async (sink: Record<string, unknown>) => {
    try {
      await buildSink(resolve(sink).sinks[0]!);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as Error).message;
      expect(text.split('\n')).toHaveLength(1);
      return text;
    }
    throw new Error('the config was accepted');
  };

  it('defaults: the local server, subject syncline.{stream}.{kind}, no stream created, batches of 100', () => {
    expect(resolve({}).sinks[0]).toEqual({
      name: 'events',
      type: 'nats',
      url: 'nats://127.0.0.1:4222',
      subjectTemplate: 'syncline.{stream}.{kind}',
      auth: null,
      ackTimeoutMs: 5000,
      createStream: null,
      streams: [],
      kinds: [],
      data: true,
      batchSize: 100,
      retry: { baseMs: 1000, maxMs: 300_000 },
      pauseAfterMs: 900_000,
    });
  });

  it('refuses mistakes in one line naming the sink', async () => {
    const at = 'syncline.config.ts: sink "events" (sinks[0]): ';
    expect(await message({ subject: 'syncline.{table}.{kind}' })).toBe(
      `${at}subject: unknown placeholder {table}; a subject may use {stream} and {kind}`,
    );
    expect(await message({ subject: 'syncline.*.{kind}' })).toContain(`${at}subject: must be a NATS subject`);
    expect(await message({ subject: 'syncline..{kind}' })).toContain(`${at}subject: must be a NATS subject`);
    const bad = await message({ url: 'http://u:s3cr3t-pw@127.0.0.1:4222' });
    expect(bad).toBe(`${at}url: must be a nats:// or tls:// URL, e.g. nats://127.0.0.1:4222`);
    expect(await message({ userEnv: 'NATS_USER' })).toBe(
      `${at}userEnv: userEnv and passwordEnv go together: give both or neither`,
    );
    expect(await message({ tokenEnv: 'T', userEnv: 'U', passwordEnv: 'P' })).toContain('not both');
    expect(await message({ createStream: { name: 'a.b' } })).toContain(
      `${at}createStream.name: must be a JetStream`,
    );
    expect(await message({ batchSize: 1001 })).toBe(`${at}batchSize: must be at most 1000`);
    expect(
      await message({
        subject: 'app.{stream}',
        createStream: { name: 'S', subjects: ['syncline.>', 'app.x'] },
      }),
    ).toBe(
      'syncline.config.ts: sink "events": createStream.subjects: none captures the sink\'s subjects (app.*); add one such as app.>',
    );
    expect(
      resolve({ subject: 'app.{stream}.x', createStream: { name: 'S', subjects: ['app.*.x'] } }).sinks,
    ).toHaveLength(1);
    expect(
      resolve({ subject: 'a.b-{kind}', createStream: { name: 'S', subjects: ['a.>'] } }).sinks,
    ).toHaveLength(1);
  });

  it('refuses a missing credential variable in one line, naming the sink and the variable', async () => {
    delete process.env['SYNCLINE_TEST_UNSET_NATS_TOKEN'];
    expect(await message({ tokenEnv: 'SYNCLINE_TEST_UNSET_NATS_TOKEN' })).toBe(
      'sink "events": environment variable SYNCLINE_TEST_UNSET_NATS_TOKEN (tokenEnv) is not set',
    );
  });

  it('takes the url from the environment in a YAML config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-nats-'));
    try {
      const file = join(dir, 'syncline.config.yaml');
      writeFileSync(
        file,
        [
          'streams:',
          '  - name: items',
          '    key: id',
          '    request: { baseUrl: http://127.0.0.1:4010, path: /items }',
          '    pagination: { type: cursor, tokenPath: next, hasMorePath: more }',
          'sinks:',
          '  - name: events',
          '    type: nats',
          '    url: $' + '{NATS_URL}',
          '    subject: app.{stream}',
          '',
        ].join('\n'),
      );
      const config = await loadProjectConfig({
        file,
        cwd: dir,
        vars: { NATS_URL: 'nats://u:pw@127.0.0.1:4222' },
      });
      expect(config.sinks[0]).toMatchObject({
        type: 'nats',
        url: 'nats://u:pw@127.0.0.1:4222',
        subjectTemplate: 'app.{stream}',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
