import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Store } from '../../src/core/store.ts';
import type { Logger } from '../../src/core/types.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { runStreams } from '../../src/runtime/run-streams.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { crashingAfter } from '../helpers/crashing-store.ts';
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

  it('changes-feed.yaml reads the feed once, then only new changes from the kept token, and resumes a killed run', async () => {
    const s = await startSimulator({
      seed: 9,
      datasets: { customers: 700 },
      mutations: { mix: { insert: 2, update: 3, backdate: 1, burst: 0, softDelete: 1, hardDelete: 2 } },
    });
    sim = s;
    t = await makeTestStore('sqlite');
    const config = await loadProjectConfig({
      file: resolve(EXAMPLES, 'changes-feed.yaml'),
      vars: { API_URL: s.url },
      store: t.location,
    });
    const sync = async (store: Store = t!.store) =>
      (await runStreams({ config, store, events: new SyncEventBus(), log: silent }))[0]!;
    const equal = async () =>
      summarize(await diffWithGroundTruth(t!.store, 'customers', s, 'customers', { hardDeletes: true }));
    const token = async () =>
      ((await t!.store.getState('customers'))!.checkpoint as { position: string }).position;
    const feed = s.dataset('customers').changes;
    const EMPTY = { missing: [], stale: [], notDeleted: [], extra: [] };

    // A first run killed after three pages resumes at the token of the third.
    s.mutate(50); // soft and hard deletes in the feed from the start
    expect((await sync(crashingAfter(t.store, 3))).status).toBe('failed');
    const killedAt = Number(await token());
    expect(killedAt).toBeGreaterThan(0);
    const rest = feed.pendingAfter(killedAt);
    const resumed = await sync();
    expect(resumed.status).toBe('ok');
    // The rows after the token and no more (the deleted rows are tombstones, not fetched records).
    expect(resumed.counters.apiCalls).toBe(Math.ceil(rest / 100));
    expect(await equal()).toEqual(EMPTY);
    expect(await token()).toBe(String(feed.last));

    // The next run sends that token as since: one request, only the changes.
    const since = feed.last;
    s.mutate(40);
    const dataset = s.dataset('customers');
    // Rows after the token that hold a record (hard deletes are tombstone rows).
    const changed = feed.after(since, 10_000).filter((r) => dataset.stateOf(r.index).status !== 'hard');
    const before = s.stats().requests['GET /v1/customers/changes']!;
    const second = await sync();
    expect(second.status).toBe('ok');
    expect(s.stats().requests['GET /v1/customers/changes']! - before).toBe(1);
    expect(second.counters.fetched).toBe(changed.length);
    expect(await equal()).toEqual(EMPTY);
  });

  it('changes-feed.yaml with a typo in fields or in the feed pagination is refused, naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-feed-yaml-'));
    try {
      const text = readFileSync(resolve(EXAMPLES, 'changes-feed.yaml'), 'utf8');
      const refusal = async (yaml: string) => {
        const file = join(dir, 'syncline.config.yaml');
        writeFileSync(file, yaml);
        return loadProjectConfig({ file, vars: { API_URL: 'http://127.0.0.1:4010' } }).then(
          () => 'accepted',
          (error: Error) => error.message,
        );
      };
      expect(await refusal(text)).toBe('accepted');
      expect(await refusal(text.replace('drop: [_rev]', 'dorp: [_rev]'))).toMatch(
        /stream "customers" \(streams\[0\]\): fields\.dorp: unknown key; did you mean "drop"\?$/,
      );
      expect(await refusal(text.replace('pendingPath:', 'pendingPth:'))).toMatch(
        /pagination\.pendingPth: unknown key; did you mean "pendingPath"\?$/,
      );
      expect(
        await refusal(text.replace('pageSize: 100', 'pageSize: 100\n    incremental: { param: since }')),
      ).toMatch(/pagination "feed" is incremental by itself .*; remove `incremental`$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
