import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Logger } from '../../src/core/types.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { runStreams } from '../../src/runtime/run-streams.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { diffWithGroundTruth, summarize } from '../helpers/ground-truth.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const EXAMPLES = resolve(import.meta.dirname, '../../examples/http');

/** The worked configs of docs/http-sources.md, each run against the simulator as written. */
const CASES = [
  {
    file: 'stripe-like.yaml',
    stream: 'customers',
    dataset: 'customers',
    auth: { bearerTokens: ['example-token'] },
  },
  { file: 'github-like.yaml', stream: 'candles', dataset: 'candles', auth: { apiKeys: ['example-key'] } },
  { file: 'updated-since.yaml', stream: 'orders', dataset: 'orders', auth: undefined },
  { file: 'page-number.yaml', stream: 'customers', dataset: 'customers', auth: undefined },
];

describe('the worked configs of the HTTP guide', () => {
  let sim: SimulatorServer | null = null;
  let t: TestStore | null = null;
  afterEach(async () => {
    await sim?.close();
    await t?.dispose();
    sim = null;
    t = null;
  });

  it.each(CASES)(
    '$file syncs the simulator exactly, and a rerun after changes catches them',
    async ({ file, stream, dataset, auth }) => {
      process.env['API_TOKEN'] = 'example-token';
      process.env['API_KEY'] = 'example-key';
      sim = await startSimulator({
        seed: 9,
        datasets: {
          customers: 700,
          orders: 700,
          candles: { count: 700, symbols: ['BTCUSDT'], intervals: ['1m'] },
        },
        ...(auth ? { auth } : {}),
        mutations: { mix: { hardDelete: 0, backdate: 0 }, burstSize: 150 },
      });
      t = await makeTestStore('sqlite');
      const config = await loadProjectConfig({
        file: resolve(EXAMPLES, file),
        vars: { API_URL: sim.url },
        store: t.location,
      });
      const sync = () => runStreams({ config, store: t!.store, events: new SyncEventBus(), log: silent });
      const [first] = await sync();
      expect(first?.error).toBeNull();
      expect(summarize(await diffWithGroundTruth(t.store, stream, sim, dataset))).toEqual({
        missing: [],
        stale: [],
        notDeleted: [],
        extra: [],
      });
      sim.mutate(40);
      const [second] = await sync();
      expect(second?.status).toBe('ok');
      expect(summarize(await diffWithGroundTruth(t.store, stream, sim, dataset))).toEqual({
        missing: [],
        stale: [],
        notDeleted: [],
        extra: [],
      });
    },
  );
});
