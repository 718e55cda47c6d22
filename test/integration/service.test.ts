import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { defineConfig, defineStream } from '../../src/index.ts';
import { createRuntime, type Runtime } from '../../src/runtime/create-runtime.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { approveStream } from '../../src/runtime/stream-operations.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.each(STORE_KINDS)('the service on %s', (kind) => {
  let t: TestStore | null = null;
  let runtime: Runtime | null = null;
  let service: Service | null = null;
  afterEach(async () => {
    await service?.stop();
    await runtime?.close();
    await t?.dispose();
    service = null;
    runtime = null;
    t = null;
  });

  it('keeps a stream paused by the backfill breaker waiting for an approval given by another process, while the others run on', async () => {
    t = await makeTestStore(kind);
    await t.store.close();
    let reads = 0;
    let otherRuns = 0;
    const config = defineConfig({
      store: t.location,
      service: { schedule: { every: '300ms', jitter: 0 } },
      streams: [
        defineStream({
          name: 'held',
          key: 'id',
          cursor: 'updated_at',
          // The first read is today's record; every later one also brings a record from years
          // before it: a suspected backfill, which pauses the stream.
          async *source() {
            reads++;
            const records: { id: number; updated_at: string }[] = [
              { id: 1, updated_at: '2026-06-01T00:00:00Z' },
            ];
            if (reads > 1) records.push({ id: 2, updated_at: '2020-01-01T00:00:00Z' });
            yield { records, checkpoint: null };
          },
        }),
        defineStream({
          name: 'other',
          key: 'id',
          async *source() {
            otherRuns++;
            yield { records: [{ id: otherRuns }], checkpoint: null };
          },
        }),
      ],
    });
    runtime = createRuntime({ config: { code: config } });
    service = await startService({ runtime, log: SILENT_LOGGER });
    await service.start();
    const state = (stream: string) => service!.scheduler.status().find((s) => s.stream === stream)!;

    await until('the breaker to pause "held"', () => state('held').state === 'paused');
    const pausedReads = reads;
    const othersBefore = otherRuns;
    await sleep(1500);
    expect(reads).toBe(pausedReads); // no scheduled run of a paused stream
    expect(otherRuns).toBeGreaterThan(othersBefore + 2); // the others go on

    // `syncline approve` from another process: the service notices it and runs the stream again.
    const elsewhere = await openStore(t.location);
    try {
      expect((await approveStream(elsewhere, 'held')).approved).toBe(true);
    } finally {
      await elsewhere.close();
    }
    await until('the approved run', async () => {
      const [last] = await (await runtime!.store()).listRuns({ stream: 'held', limit: 1 });
      return last?.status === 'ok';
    });
    const rows = await (await runtime.store()).lookup('held', ['1', '2']);
    expect([...rows.keys()].sort()).toEqual(['1', '2']);
  }, 60_000);
});
