import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { defineConfig, defineStream } from '../../src/index.ts';
import { createRuntime, type Runtime } from '../../src/runtime/create-runtime.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { SECRET, startReceiver } from '../helpers/webhook-receiver.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

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
    service = await startService({ runtime, log: silent });
    expect(service.sinks()).toBeNull();
    service.start();
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
});
