import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedRateBuckets } from '../../src/core/store.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { type CliResult, runCli } from '../cli/cli-harness.ts';
import { freshPgSchema } from '../helpers/postgres.ts';
import { makeTestStore, STORE_KINDS } from '../helpers/stores.ts';

// `rateLimit: { shared: true }` end to end: two `syncline sync` processes on one PostgreSQL store,
// each syncing its own stream of the same host, as two workers of a cluster would. What counts is
// what the host sees, so the request rate is measured at the simulator (its request counters,
// sampled), never in the clients.

const RATE = 10;
const BURST = 2;
/** Pages per stream: each process has about 4 s of requests at the full rate alone. */
const RECORDS = 400;
const PAGE_SIZE = 10;

function yamlConfig(apiUrl: string, shared: boolean): string {
  const stream = (name: string) => `  - name: ${name}
    key: id
    cursor: updated_at
    version: version
    request: { baseUrl: "${apiUrl}", path: /v1/customers, query: { style: link } }
    pagination: { type: link }
    pageSize: ${PAGE_SIZE}
    rateLimit: { requestsPerSecond: ${RATE}, burst: ${BURST}${shared ? ', shared: true' : ''} }
`;
  return `streams:\n${stream('customers_a')}${stream('customers_b')}`;
}

/** Requests the simulator has answered or refused so far (every route). */
function requestsSoFar(sim: SimulatorServer): number {
  return Object.values(sim.stats().requests).reduce((sum, n) => sum + n, 0);
}

interface Measured {
  readonly results: CliResult[];
  readonly total: number;
  /** The most requests the simulator saw in any `windowMs` while the processes ran. */
  readonly busiestWindow: number;
  /** Requests over the time from the first to the last, per second. */
  readonly meanRate: number;
}

/**
 * Runs `syncline sync customers_a` and `syncline sync customers_b` at once on `store`, sampling
 * the simulator's request count every 20 ms until both exit.
 */
async function syncBoth(
  sim: SimulatorServer,
  dir: string,
  store: string,
  windowMs: number,
): Promise<Measured> {
  const samples: Array<{ at: number; n: number }> = [];
  let done = false;
  const sampler = (async () => {
    while (!done) {
      samples.push({ at: performance.now(), n: requestsSoFar(sim) });
      await sleep(20);
    }
    samples.push({ at: performance.now(), n: requestsSoFar(sim) });
  })();
  const results = await Promise.all(
    ['customers_a', 'customers_b'].map((stream) => runCli(['sync', stream, '--store', store], dir)),
  );
  done = true;
  await sampler;
  for (const result of results) expect(result.code, result.stderr).toBe(0);
  // Windows between samples no more than `windowMs` apart: each lies within some window of that
  // length, so none can show more than the host could have seen in one.
  let busiestWindow = 0;
  let from = 0;
  for (let to = 0; to < samples.length; to++) {
    while (samples[to]!.at - samples[from]!.at > windowMs) from++;
    busiestWindow = Math.max(busiestWindow, samples[to]!.n - samples[from]!.n);
  }
  const first = samples.find((s) => s.n > 0)!;
  const last = samples.find((s) => s.n === samples.at(-1)!.n)!;
  const total = last.n;
  const meanRate = ((total - 1) * 1000) / (last.at - first.at);
  return { results, total, busiestWindow, meanRate };
}

describe('a shared rate limit on a PostgreSQL store', () => {
  let sim: SimulatorServer | null = null;
  let dir: string | null = null;
  let drop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await drop?.();
    sim = null;
    dir = null;
    drop = null;
  });

  for (const shared of [true, false]) {
    it(`${shared ? 'holds' : 'is per process without `shared`:'} ${RATE} requests/s for two processes syncing one host`, async () => {
      sim = await startSimulator({ seed: 7, datasets: { customers: RECORDS }, maxPageSize: 100 });
      dir = mkdtempSync(join(tmpdir(), 'syncline-shared-rate-'));
      writeFileSync(join(dir, 'syncline.config.yaml'), yamlConfig(sim.url, shared));
      const pg = await freshPgSchema();
      drop = pg.drop;
      const store = `${pg.url}?schema=${pg.schema}`;
      const windowMs = 2000;
      const m = await syncBoth(sim, dir, store, windowMs);
      for (const result of m.results) expect(result.code, result.stderr).toBe(0);
      const pages = RECORDS / PAGE_SIZE;
      // Every page of both streams was read (the last page may be followed by an empty one).
      expect(m.total).toBeGreaterThanOrEqual(2 * pages);
      expect(m.total).toBeLessThanOrEqual(2 * (pages + 1));
      const allowed = BURST + (RATE * windowMs) / 1000;
      const seen = `busiest ${windowMs} ms: ${m.busiestWindow} requests; mean ${m.meanRate.toFixed(1)}/s`;
      if (shared) {
        // The host sees the rate once: the cluster's bucket holds it whatever each process does.
        // (+1: a request held up on its way, by a busy event loop, may reach the simulator in the
        // same window as the one after it.)
        expect(m.busiestWindow, seen).toBeLessThanOrEqual(allowed + 1);
        expect(m.meanRate, seen).toBeLessThanOrEqual(RATE * 1.1);
        expect(m.meanRate, seen).toBeGreaterThan(RATE * 0.7);
      } else {
        // Each process paces only itself: the host sees about twice the rate while both run (less
        // over the whole span when one process started late).
        expect(m.busiestWindow, seen).toBeGreaterThan(allowed * 1.5);
        expect(m.meanRate, seen).toBeGreaterThan(RATE * 1.3);
      }
    }, 60_000);
  }
});

describe.each(STORE_KINDS)('shared rate buckets on %s', (kind) => {
  it(kind === 'postgres' ? "are the store's" : 'are none: a shared limit stays in the process', async () => {
    const t = await makeTestStore(kind);
    try {
      expect(sharedRateBuckets(t.store) !== null).toBe(kind === 'postgres');
    } finally {
      await t.dispose();
    }
  });
});
