import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { withPgClient } from '../helpers/postgres.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { type CliResult, collect, spawnCli, waitForOutput } from './cli-harness.ts';

/** The destination's rate limit (requests per second) the cluster must keep to as a whole. */
const RATE = 8;

describe('a destination of a cluster of three workers', () => {
  let t: TestStore | null = null;
  let sim: SimulatorServer | null = null;
  let dir: string | null = null;
  const children: { child: ReturnType<typeof spawnCli>; done: Promise<CliResult> }[] = [];
  afterEach(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await Promise.all(children.splice(0).map((c) => c.done));
    await sim?.close();
    sim = null;
    await t?.dispose();
    t = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('keeps to its rate limit for the whole cluster (measured at the API), delivered by one worker at a time', async () => {
    t = await makeTestStore('postgres');
    await t.store.close();
    const simulator = await startSimulator({
      seed: 9,
      datasets: { customers: 400 },
      mutations: { ratePerSecond: 0 },
    });
    sim = simulator;
    dir = mkdtempSync(join(tmpdir(), 'syncline-cluster-destination-'));
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      `service: { shutdownTimeout: 5s }
streams:
  - name: customers
    key: id
    cursor: updated_at
    request: { baseUrl: ${simulator.url}, path: /v1/customers, query: { style: cursor } }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    pageSize: 200
    schedule: { every: 1s, jitter: 0 }
destinations:
  - name: crm
    type: http
    streams: [customers]
    baseUrl: ${simulator.url}/crm
    allowPrivateTargets: true
    rateLimit: ${RATE}
    concurrency: 4
    map: { email: email, name: name, external_id: { template: "{id}" } }
    create: { path: /contacts }
    update: { path: "/contacts/{externalId}" }
`,
    );
    for (let i = 0; i < 3; i++) {
      const child = spawnCli(['run', '--store', t.location, '--no-listen'], dir);
      children.push({ child, done: collect(child) });
    }
    await Promise.all(children.map(({ child }) => waitForOutput(child, 'joined the cluster', 30_000)));
    // 400 records to create at 8 requests/s: the destination is busy for the whole window.
    const start = simulator.crm.stats();
    await sleep(8_000);
    const stats = simulator.crm.stats();
    const sent = Object.values(stats.requests).reduce((a, b) => a + b, 0);
    const before = Object.values(start.requests).reduce((a, b) => a + b, 0);
    expect(sent - before).toBeGreaterThan(RATE * 4);
    // Three workers each pacing to 8/s would reach 24 in a second: one writer at a time keeps 8
    // (plus the bucket's burst of one second's worth when it starts).
    expect(stats.maxRequestsPerSecond).toBeLessThanOrEqual(RATE * 2);
    // Its job: one at any time, and it runs on one worker.
    const schema = new URL(t.location).searchParams.get('schema')!;
    const jobs = await withPgClient(async (client) => {
      const { rows } = await client.query<{ key: string; locked: boolean }>(
        `SELECT key, locked_at IS NOT NULL AS locked FROM "${schema}_jobs".jobs WHERE key LIKE 'deliver:%'`,
      );
      return rows;
    });
    expect(jobs).toEqual([{ key: 'deliver:crm', locked: true }]);
    const runningIt = await withPgClient(async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".syncline_workers WHERE running::text LIKE '%deliver:crm%'`,
      );
      return rows[0]!.n;
    });
    expect(runningIt).toBe(1);
  }, 90_000);
});
