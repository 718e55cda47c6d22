import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/types.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { apiUrlOf, type CliResult, collect, spawnCli } from './cli-harness.ts';

// One real `syncline serve` process on SQLite (~10 s): it serves the API, fires no schedule, runs
// what is asked for, records it in the action log, and stops on SIGTERM with exit 0.

const TOKEN = 'serve-test-token-8d2e41';

async function runsOf(location: string, stream: string): Promise<RunRecord[]> {
  const store = await openStore(location, { mode: 'read' });
  try {
    return await store.listRuns({ stream, limit: 100 });
  } finally {
    await store.close();
  }
}

describe('syncline serve (SQLite)', () => {
  let t: TestStore | null = null;
  let sim: SimulatorServer | null = null;
  let dir: string | null = null;
  let child: ChildProcess | null = null;
  let done: Promise<CliResult> | null = null;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await done;
    await sim?.close();
    await t?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
    t = sim = dir = child = done = null;
  });

  it('serves the API without running schedules, runs a triggered sync once, records it, and exits 0 on SIGTERM', async () => {
    t = await makeTestStore('sqlite');
    await t.store.close(); // serve opens its own
    sim = await startSimulator({ seed: 3, datasets: { customers: 120 }, mutations: { ratePerSecond: 0 } });
    dir = mkdtempSync(join(tmpdir(), 'syncline-serve-'));
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      `streams:
  - name: customers
    key: id
    cursor: updated_at
    request: { baseUrl: ${sim.url}, path: /v1/customers, query: { style: cursor } }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    pageSize: 100
    schedule: { every: 1s, jitter: 0 }
`,
    );
    child = spawnCli(['serve', '--store', t.location, '--listen', '127.0.0.1:0'], dir, {
      SYNCLINE_API_TOKEN: TOKEN,
    });
    done = collect(child);
    const url = await apiUrlOf(child);
    const auth = { authorization: `Bearer ${TOKEN}` };

    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
    expect((await fetch(`${url}/v1/streams`)).status).toBe(401);
    const streams = await fetch(`${url}/v1/streams`, { headers: auth });
    expect(await streams.json()).toEqual([
      expect.objectContaining({ stream: 'customers', state: 'idle', schedule: null, nextRunAt: null }),
    ]);

    // `every: 1s` would have run three times by now under `syncline run`.
    await sleep(3000);
    expect(await runsOf(t.location, 'customers')).toEqual([]);

    const sync = await fetch(`${url}/v1/streams/customers/sync`, { method: 'POST', headers: auth });
    expect(sync.status).toBe(202);
    expect(await sync.json()).toEqual({ state: 'started', stream: 'customers', mode: 'sync' });
    const end = Date.now() + 20_000;
    let runs = await runsOf(t.location, 'customers');
    while (runs[0]?.status !== 'ok' && Date.now() < end) {
      await sleep(100);
      runs = await runsOf(t.location, 'customers');
    }
    expect(runs.map((r) => [r.mode, r.status, r.counters.inserted])).toEqual([['sync', 'ok', 120]]);
    await sleep(1500); // no scheduled run follows the triggered one
    expect(await runsOf(t.location, 'customers')).toHaveLength(1);

    const actions = await fetch(`${url}/v1/actions?stream=customers`, { headers: auth });
    expect(await actions.json()).toEqual([
      expect.objectContaining({
        stream: 'customers',
        action: 'sync',
        origin: 'api',
        detail: 'started a sync of "customers"',
      }),
    ]);

    child.kill('SIGTERM');
    const result = await done;
    expect(result.code, result.stderr.slice(-1500)).toBe(0);
    expect(result.stderr).toContain('syncline serve: stopped');
  }, 60_000);
});
