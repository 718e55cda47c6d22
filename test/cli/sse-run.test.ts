import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { connectSse } from '../helpers/sse-client.ts';
import { apiUrlOf, type CliResult, collect, spawnCli } from './cli-harness.ts';

const TOKEN = 'sse-run-token-7d2e';

describe('syncline run with an sse sink (a real process)', () => {
  let sim: SimulatorServer | null = null;
  let dir: string | null = null;
  let child: ChildProcess | null = null;
  let done: Promise<CliResult> | null = null;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await done;
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('streams what its runs commit, leaves the sse sink out of /v1/sinks, and exits at once on SIGTERM with a client connected', async () => {
    sim = await startSimulator({ seed: 3, datasets: { customers: 30 }, mutations: { ratePerSecond: 0 } });
    dir = mkdtempSync(join(tmpdir(), 'syncline-sse-'));
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      `streams:
  - name: customers
    key: id
    cursor: updated_at
    request: { baseUrl: ${sim.url}, path: /v1/customers, query: { style: cursor } }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    schedule: { every: 1h, jitter: 0 }
sinks:
  - name: events
    type: sse
    heartbeat: 1s
`,
    );
    child = spawnCli(['run', '--store', join(dir, 's.db'), '--listen', '127.0.0.1:0'], dir, {
      SYNCLINE_API_TOKEN: TOKEN,
    });
    done = collect(child);
    const url = await apiUrlOf(child);
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${url}/v1/events`)).status).toBe(401);
    const client = await connectSse(`${url}/v1/events?since=0&streams=customers`, auth);
    expect(client.response.status).toBe(200);
    await client.until(() => client.changes().length >= 30, 15_000);
    expect(client.changes().map((c) => c.data['key'])).toHaveLength(30);
    expect(await (await fetch(`${url}/v1/sinks`, { headers: auth })).json()).toEqual([]);

    const asked = Date.now();
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code, result.stderr.slice(-1500)).toBe(0);
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(await client.ended).toBeDefined();
  }, 40_000);
});
