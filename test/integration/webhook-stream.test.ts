import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { type WebhookStreamConfig, webhook } from '../../src/index.ts';
import { createRuntime, type Runtime } from '../../src/runtime/create-runtime.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { signWebhook, type WebhookScheme } from '../../src/sources/webhook/webhook-signature.ts';
import { withPgClient } from '../helpers/postgres.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
process.env.WEBHOOK_TEST_SECRET = SECRET;
const STANDARD: WebhookScheme = { type: 'standard' };

/**
 * Webhook streams over a running service, per store: a signed event is written to the inbox and
 * answered, then a sync of its stream applies it through the ordinary path (version merge, the
 * checkpoint in the same transaction); forged, replayed, malformed and oversized requests are
 * refused without touching the store.
 */
describe.each(STORE_KINDS)('webhook streams on %s', (kind) => {
  let t: TestStore | undefined;
  let runtime: Runtime | undefined;
  let service: Service | undefined;
  afterEach(async () => {
    await service?.stop();
    await runtime?.close();
    await t?.dispose();
    service = undefined;
    runtime = undefined;
    t = undefined;
  });

  type StreamSettings = WebhookStreamConfig;
  async function start(over: Partial<StreamSettings['webhook']> = {}, stream: Partial<StreamSettings> = {}) {
    t = await makeTestStore(kind);
    const config: SynclineConfig = {
      store: t.location,
      streams: [
        webhook.stream({
          name: 'customers',
          key: 'id',
          version: 'version',
          webhook: {
            scheme: STANDARD,
            secretsEnv: 'WEBHOOK_TEST_SECRET',
            record: 'data',
            deleteTypes: ['customer.deleted'],
            maxBodyBytes: 4096,
            ...over,
          },
          ...stream,
        }),
      ],
    };
    runtime = createRuntime({ config: { code: config }, store: t.location });
    service = await startService({ runtime, log: SILENT_LOGGER });
    await service.start();
    return createApiApp(service.control, { token: 'api-token', log: SILENT_LOGGER });
  }

  let next = 0;
  /** A signed delivery of `event` (its own id unless given), as the provider sends it. */
  function delivery(event: object, options: { id?: string; body?: string; timestamp?: number } = {}) {
    const body = options.body ?? JSON.stringify(event);
    const headers = signWebhook(STANDARD, SECRET, {
      body,
      id: options.id ?? `evt_${++next}`,
      ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
    });
    return { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } };
  }
  const customer = (id: string, version: number, name: string) => ({
    type: 'customer.updated',
    data: { id, version, name },
  });
  async function records() {
    // Before the first run the stream has no table yet (PostgreSQL says so).
    const rows = await t!.store.scanRecords('customers', { limit: 100 }).catch(() => []);
    return Object.fromEntries(rows.map((r) => [r.key, r.deletedAt === null ? r.data : 'deleted']));
  }
  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const end = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > end) return value;
      await sleep(20);
    }
  }

  it('applies signed events in order, newest version wins, deletes as tombstones, without the API token', async () => {
    const api = await start();
    const post = (init: RequestInit) => api.request('/v1/webhooks/customers', init);
    const first = await post(delivery(customer('c1', 1, 'Ada')));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, id: expect.any(Number), duplicate: false });
    expect((await post(delivery(customer('c1', 3, 'Ada Lovelace')))).status).toBe(200);
    // Out of order: version 2 arrives after 3 and is stale.
    expect((await post(delivery(customer('c1', 2, 'Ada L.')))).status).toBe(200);
    expect((await post(delivery(customer('c2', 1, 'Grace')))).status).toBe(200);
    expect((await post(delivery({ type: 'customer.deleted', data: { id: 'c2', version: 2 } }))).status).toBe(
      200,
    );
    const applied = await until(
      records,
      (r) => r.c2 === 'deleted' && (r.c1 as { version?: number })?.version === 3,
    );
    expect(applied).toEqual({ c1: { id: 'c1', version: 3, name: 'Ada Lovelace' }, c2: 'deleted' });
  });

  // The job queue of a cluster refuses the event's run (here: its add_job renamed away), as a
  // store out of connections would: the event is answered and stored, and its run asked for again.
  if (kind === 'postgres')
    it('asks again for the run of an event whose run the job queue refused, and applies it once it can', async () => {
      const api = await start();
      // The run the service starts with has ended: only the event's own run can apply it.
      await until(
        () => t!.store.listRuns({ stream: 'customers', limit: 5 }),
        (runs) => runs.length > 0 && runs.every((r) => r.status !== 'running'),
      );
      const queue = `${new URL(t!.location).searchParams.get('schema')}_jobs`;
      const addJob = `"${queue}".add_job(text, json, text, timestamptz, integer, text, integer, text[], text)`;
      await withPgClient((c) => c.query(`ALTER FUNCTION ${addJob} RENAME TO add_job_away`));
      try {
        const res = await api.request('/v1/webhooks/customers', delivery(customer('c1', 1, 'Ada')));
        expect(res.status).toBe(200);
        await sleep(500);
        expect(await records()).toEqual({});
      } finally {
        await withPgClient((c) =>
          c.query(
            `ALTER FUNCTION "${queue}".add_job_away(text, json, text, timestamptz, integer, text, integer, text[], text) RENAME TO add_job`,
          ),
        );
      }
      expect(await until(records, (r) => r.c1 !== undefined)).toEqual({
        c1: { id: 'c1', version: 1, name: 'Ada' },
      });
    });

  it('answers a redelivery as a duplicate and applies it once', async () => {
    const api = await start();
    const post = (init: RequestInit) => api.request('/v1/webhooks/customers', init);
    const event = delivery(customer('c1', 1, 'Ada'), { id: 'evt_same' });
    const a = (await (await post(event)).json()) as { id: number };
    const b = await post(delivery(customer('c1', 1, 'Ada'), { id: 'evt_same' }));
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual({ received: true, id: a.id, duplicate: true });
    await until(records, (r) => r.c1 !== undefined);
    const runs = await t!.store.listRuns({ stream: 'customers', limit: 10 });
    expect(runs.reduce((n, r) => n + r.counters.inserted, 0)).toBe(1);
  });

  it('refuses forged, replayed, malformed and oversized requests and stores none of them', async () => {
    const api = await start({ duplicateStatus: 409 });
    const post = (init: RequestInit) => api.request('/v1/webhooks/customers', init);
    const forged = delivery(customer('c1', 1, 'Ada'));
    const tampered = await post({ ...forged, body: forged.body.replace('Ada', 'Eve') });
    expect(tampered.status).toBe(401);
    expect(JSON.stringify(await tampered.json())).not.toContain(SECRET);
    const old = await post(delivery(customer('c1', 1, 'Ada'), { timestamp: Date.now() - 10 * 60_000 }));
    expect(old.status).toBe(401);
    const malformed = await post(delivery({}, { body: '{"type": ' }));
    expect(malformed.status).toBe(400);
    const big = await post(delivery(customer('c1', 1, 'x'.repeat(5000))));
    expect(big.status).toBe(413);
    expect((await api.request('/v1/webhooks/orders', delivery(customer('c1', 1, 'Ada')))).status).toBe(404);
    expect(await t!.store.readInbox({ stream: 'customers', afterId: 0, limit: 10 })).toEqual([]);
    const once = delivery(customer('c1', 1, 'Ada'), { id: 'evt_x' });
    expect((await post(once)).status).toBe(200);
    expect((await post(delivery(customer('c1', 1, 'Ada'), { id: 'evt_x' }))).status).toBe(409);
    // The rest of the API still wants its token.
    expect((await api.request('/v1/streams')).status).toBe(401);
  });

  it('fetches the notified record over REST (the payload is only a hint), and a reconciliation over poll repairs what webhooks missed, counted as drift', async () => {
    const sim = await startSimulator({ seed: 4, datasets: { customers: 30 } });
    try {
      const api = await start(
        { fetch: true },
        {
          cursor: 'updated_at',
          deleted: 'deleted',
          poll: {
            request: { baseUrl: sim.url, path: '/v1/customers', query: { style: 'cursor' } },
            pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
            fetchById: { path: '/v1/customers/{id}' },
          },
        },
      );
      const truth = sim.groundTruth('customers');
      const [first] = [...truth.live.keys()];
      // The event says little, and wrongly: the stream reads the record itself.
      const res = await api.request(
        '/v1/webhooks/customers',
        delivery({ type: 'customer.updated', data: { id: first, name: 'not the real name' } }),
      );
      expect(res.status).toBe(200);
      await until(records, (r) => r[first!] !== undefined);
      const [row] = await t!.store.scanRecords('customers', { limit: 1 });
      expect(row!.key).toBe(first);
      expect(row!.hash).toBe(truth.live.get(first!));
      // Webhooks delivered one customer of 30: a reconciliation reads them all over REST.
      const auth = { headers: { authorization: 'Bearer api-token' } };
      expect((await api.request('/v1/streams/customers/reconcile', { method: 'POST', ...auth })).status).toBe(
        202,
      );
      const view = await until(
        async () => {
          const streams = (await (await api.request('/v1/streams', auth)).json()) as {
            stream: string;
            webhook?: { backlog: number; drift: { changes: number } | null };
          }[];
          return streams.find((s) => s.stream === 'customers')!;
        },
        (v) => v.webhook?.drift !== null && v.webhook?.drift !== undefined,
      );
      expect(view.webhook).toEqual({
        backlog: 0,
        drift: { runId: expect.any(String), endedAt: expect.any(String), changes: truth.live.size - 1 },
      });
      const stored = await records();
      expect(
        Object.keys(stored)
          .filter((k) => stored[k] !== 'deleted')
          .sort(),
      ).toEqual([...truth.live.keys()].sort());
    } finally {
      await sim.close();
    }
  });
});
