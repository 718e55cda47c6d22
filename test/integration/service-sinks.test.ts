import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { defineConfig, defineStream } from '../../src/index.ts';
import { createRuntime, type Runtime } from '../../src/runtime/create-runtime.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { SECRET, startReceiver } from '../helpers/webhook-receiver.ts';

describe('sinks inside the service', () => {
  let t: TestStore | null = null;
  let runtime: Runtime | null = null;
  let service: Service | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | null = null;
  afterEach(async () => {
    await service?.stop();
    await runtime?.close();
    await t?.dispose();
    await receiver?.close();
    delete process.env.SERVICE_SINK_SECRET;
    delete process.env.SERVICE_CRM_TOKEN;
  });

  it('starts a runner per sink, delivers what scheduled runs commit, and stops with the service', async () => {
    t = await makeTestStore('sqlite');
    await t.store.close();
    receiver = await startReceiver();
    process.env.SERVICE_SINK_SECRET = SECRET;
    let reads = 0;
    const config = defineConfig({
      store: t.location,
      service: { schedule: { every: '200ms', jitter: 0 } },
      sinks: [
        {
          name: 'hooks',
          type: 'webhook',
          url: receiver.url,
          secretEnv: 'SERVICE_SINK_SECRET',
          allowPrivateTargets: true,
          kinds: ['insert'],
        },
      ],
      streams: [
        defineStream({
          name: 'ticks',
          key: 'id',
          // Each run brings one new record (and the ones before, unchanged: no change-log rows).
          async *source() {
            reads++;
            yield { records: Array.from({ length: reads }, (_, i) => ({ id: i })), checkpoint: null };
          },
        }),
      ],
    });
    runtime = createRuntime({ config: { code: config } });
    service = await startService({ runtime, log: SILENT_LOGGER });
    expect(service.sinks()).toBeNull();
    await service.start();
    const ids = () => (receiver!.accepted as FeedChange[]).map((e) => e.id);
    const end = Date.now() + 20_000;
    while (ids().length < 3 && Date.now() < end) await sleep(20);
    expect(ids().slice(0, 3)).toEqual(['ticks:1', 'ticks:2', 'ticks:3']);
    expect(service.sinks()!.status()).toEqual([expect.objectContaining({ name: 'hooks', lastError: null })]);
    const metrics = (await service.metrics.render()).body;
    expect(metrics).toMatch(/syncline_sink_delivered_total\{sink="hooks"\} [1-9]/);
    await service.stop();
    expect(service.sinks()!.status()[0]!.state).toBe('stopped');
  });

  it('pauses a sink whose endpoint keeps failing, shows it on GET /v1/sinks, and resumes it on POST .../resume', async () => {
    t = await makeTestStore('sqlite');
    await t.store.close();
    let down = true;
    receiver = await startReceiver(() => (down ? 503 : 200));
    process.env.SERVICE_SINK_SECRET = SECRET;
    const config = defineConfig({
      store: t.location,
      service: { schedule: { every: '1h', jitter: 0 } },
      sinks: [
        {
          name: 'hooks',
          type: 'webhook',
          url: receiver.url,
          secretEnv: 'SERVICE_SINK_SECRET',
          allowPrivateTargets: true,
          retry: { base: '10ms', max: '20ms' },
          pauseAfter: '100ms',
        },
      ],
      streams: [
        defineStream({
          name: 'ticks',
          key: 'id',
          async *source() {
            yield { records: [{ id: 1 }, { id: 2 }], checkpoint: null };
          },
        }),
      ],
    });
    runtime = createRuntime({ config: { code: config } });
    service = await startService({ runtime, log: SILENT_LOGGER });
    const api = createApiApp(service.control, { token: null, log: SILENT_LOGGER });
    const sinks = async () =>
      (await (await api.request('/v1/sinks')).json()) as { name: string; state: string }[];
    expect(await sinks()).toEqual([expect.objectContaining({ name: 'hooks', state: 'stopped' })]);
    await service.start();
    const end = Date.now() + 20_000;
    while ((await sinks())[0]!.state !== 'paused' && Date.now() < end) await sleep(20);
    expect((await sinks())[0]!.state).toBe('paused');
    const asked = receiver.requests();
    await sleep(300);
    expect(receiver.requests()).toBe(asked); // paused: no more attempts
    down = false;
    const resumed = await api.request('/v1/sinks/hooks/resume', { method: 'POST' });
    expect(resumed.status).toBe(200);
    expect(((await resumed.json()) as { resumed: boolean }).resumed).toBe(true);
    while ((receiver.accepted as FeedChange[]).length < 2 && Date.now() < end) await sleep(20);
    expect((receiver.accepted as FeedChange[]).map((e) => e.id)).toEqual(['ticks:1', 'ticks:2']);
    // Not paused any more: nothing to resume; an unknown sink is a 404.
    const again = (await (await api.request('/v1/sinks/hooks/resume', { method: 'POST' })).json()) as {
      resumed: boolean;
    };
    expect(again.resumed).toBe(false);
    expect((await api.request('/v1/sinks/nope/resume', { method: 'POST' })).status).toBe(404);
  });

  it('lists a destination on GET /v1/sinks (kind destination), shows its lag as syncline_destination_lag_events, and redelivers its letters on POST .../replay', async () => {
    t = await makeTestStore('sqlite');
    await t.store.close();
    const token = 'crm-token';
    const sim = await startSimulator({ datasets: {}, crm: { token } });
    try {
      process.env.SERVICE_CRM_TOKEN = token;
      const config = defineConfig({
        store: t.location,
        service: { schedule: { every: '1h', jitter: 0 } },
        streams: [
          defineStream({
            name: 'people',
            key: 'id',
            async *source() {
              yield {
                records: [{ id: 1, email: 'a@example.com' }, { id: 2 }, { id: 3, email: 'c@example.com' }],
                checkpoint: null,
              };
            },
          }),
        ],
        destinations: [
          {
            name: 'crm',
            type: 'http',
            streams: ['people'],
            baseUrl: `${sim.url}/crm`,
            tokenEnv: 'SERVICE_CRM_TOKEN',
            allowPrivateTargets: true,
            map: { email: 'email', external_id: { template: '{id}' } },
            create: { path: '/contacts', idPath: 'id' },
            update: { path: '/contacts/{externalId}' },
            find: { path: '/contacts', query: { external_id: '{key}' }, idPath: 'results.0.id' },
          },
        ],
      });
      runtime = createRuntime({ config: { code: config } });
      service = await startService({ runtime, log: SILENT_LOGGER });
      const api = createApiApp(service.control, { token: null, log: SILENT_LOGGER });
      const sinks = async () =>
        (await (await api.request('/v1/sinks')).json()) as { name: string; kind: string; offset: number }[];
      expect(await sinks()).toEqual([
        {
          name: 'crm',
          kind: 'destination',
          state: 'stopped',
          offset: 0,
          lastError: null,
          failingSince: null,
          writes: { ok: 0, unchanged: 0, skipped: 0, retry: 0, fail: 0 },
          errorRate: null,
        },
      ]);
      await service.start();
      const end = Date.now() + 20_000;
      while ((await sinks())[0]!.offset < 3 && Date.now() < end) await sleep(20);
      expect(await sinks()).toEqual([
        expect.objectContaining({
          name: 'crm',
          kind: 'destination',
          offset: 3,
          writes: { ok: 2, unchanged: 0, skipped: 0, retry: 0, fail: 1 },
          errorRate: 1 / 3,
        }),
      ]);
      expect(sim.crm.contacts()).toHaveLength(2); // 2 has no email: 422, dead-lettered
      const metrics = parsePrometheusText((await service.metrics.render()).body);
      expect(sampleValue(metrics, 'syncline_destination_lag_events', { destination: 'crm' })).toBe(0);
      const requests = (outcome: string) =>
        sampleValue(metrics, 'syncline_destination_requests_total', { destination: 'crm', outcome });
      expect([requests('ok'), requests('fail'), requests('retry')]).toEqual([2, 1, 0]);
      expect(sampleValue(metrics, 'syncline_destination_error_ratio', { destination: 'crm' })).toBeCloseTo(
        1 / 3,
      );
      expect(metrics.get('syncline_sink_lag_events')?.samples ?? []).toEqual([]);

      sim.crm.configure({ requireEmail: false });
      const res = await api.request('/v1/sinks/crm/replay', { method: 'POST' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        sink: 'crm',
        kind: 'destination',
        redelivered: 1,
        refusedAgain: 0,
        left: 0,
        error: null,
        message: 'destination "crm": redelivered 1, refused again 0, left 0',
      });
      expect(sim.crm.contacts()).toHaveLength(3);
      const store = await runtime.store();
      const mapped = await store.lookupMappings({ destination: 'crm', stream: 'people', keys: ['2'] });
      expect(sim.crm.contacts().find((c) => c.id === mapped.get('2')!.externalId)).toMatchObject({
        external_id: '2',
      });
      expect((await api.request('/v1/sinks/erp/replay', { method: 'POST' })).status).toBe(404);
    } finally {
      await service?.stop();
      await sim.close();
    }
  });
});
