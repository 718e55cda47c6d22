import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/types.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { type CliResult, collect, spawnCli } from './cli-harness.ts';

// Slow (~1 min): real `syncline run` processes against the simulator on both stores, left running
// for seconds at a time so their schedules fire, then stopped with SIGTERM.

const TOKEN = 'run-test-token-5f1c2a9e';

interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** The API's base URL, from the log line that says where it listens. */
  readonly url: string;
}

/** Starts `syncline run` and waits until it says where its API listens. */
async function startRun(dir: string, store: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawnCli(['run', '--store', store, '--listen', '127.0.0.1:0'], dir, env);
  const done = collect(child);
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`syncline run did not start: ${seen.slice(-800)}`)),
      30_000,
    );
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      const match = /"api":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('close', () => reject(new Error(`syncline run exited: ${seen.slice(-800)}`)));
  });
  return { child, done, url };
}

/** A loopback URL nothing listens on (a port just freed). */
async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function runsOf(location: string, stream: string): Promise<RunRecord[]> {
  const store = await openStore(location, { mode: 'read' });
  try {
    return await store.listRuns({ stream, limit: 1000 });
  } finally {
    await store.close();
  }
}

/** Waits until the stream's newest run satisfies `done` (at most 60 s). */
async function untilLastRun(location: string, stream: string, done: (run: RunRecord) => boolean) {
  const end = Date.now() + 60_000;
  for (;;) {
    const [run] = await runsOf(location, stream);
    if (run && done(run)) return;
    if (Date.now() > end) throw new Error(`timed out; last run of ${stream}: ${JSON.stringify(run)}`);
    await sleep(100);
  }
}

function streamYaml(name: string, api: string, extra: string, path = '/v1/customers'): string {
  return `
  - name: ${name}
    key: id
    cursor: updated_at
    version: version
    request: { baseUrl: ${api}, path: ${path}, query: { style: cursor } }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    pageSize: 100
    incremental: { param: updated_since, lookback: 10m, safetyLag: 1s }
${extra}`;
}

describe.each(STORE_KINDS)('syncline run on %s', (kind) => {
  let t: TestStore | null = null;
  let sim: SimulatorServer | null = null;
  let dir: string | null = null;
  let running: Running | null = null;
  afterEach(async () => {
    running?.child.kill('SIGKILL');
    await running?.done;
    running = null;
    await sim?.close();
    sim = null;
    await t?.dispose();
    t = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  async function project(config: string, records = 300, pageDelayMs = 0) {
    t = await makeTestStore(kind);
    await t.store.close(); // the service opens its own
    sim = await startSimulator({
      seed: 5,
      datasets: { customers: records },
      mutations: { ratePerSecond: 0 },
      ...(pageDelayMs > 0 ? { faults: { slow: 1, slowMs: pageDelayMs } } : {}),
    });
    dir = mkdtempSync(join(tmpdir(), 'syncline-run-'));
    writeFileSync(join(dir, 'syncline.config.yaml'), config.replaceAll('API', sim.url));
    return { dir, location: t.location };
  }

  it('runs each stream on its schedule (every 1 s, every 3 s, a 2-second cron) and stops on SIGTERM with exit 0', async () => {
    const { dir, location } = await project(
      `service: { shutdownTimeout: 10s }
streams:${streamYaml('fast', 'API', '    schedule: { every: 1s, jitter: 0 }')}${streamYaml(
        'slow',
        'API',
        '    schedule: { every: 3s, jitter: 0 }',
      )}${streamYaml('cron', 'API', '    schedule: { cron: "*/2 * * * * *" }')}${streamYaml('manual', 'API', '')}`,
    );
    running = await startRun(dir, location);
    await sleep(10_000);
    running.child.kill('SIGTERM');
    const result = await running.done;
    expect(result.code, result.stderr.slice(-1500)).toBe(0);
    const counts = Object.fromEntries(
      await Promise.all(
        ['fast', 'slow', 'cron', 'manual'].map(async (s) => [s, (await runsOf(location, s)).length] as const),
      ),
    );
    // 10 s: ~10 runs every second, ~4 every 3 s (at 0, 3, 6, 9 s), ~5 on even seconds; none unscheduled.
    expect(counts.fast).toBeGreaterThanOrEqual(7);
    expect(counts.fast).toBeLessThanOrEqual(12);
    expect(counts.slow).toBeGreaterThanOrEqual(3);
    expect(counts.slow).toBeLessThanOrEqual(5);
    expect(counts.cron).toBeGreaterThanOrEqual(3);
    expect(counts.cron).toBeLessThanOrEqual(6);
    expect(counts.manual).toBe(0);
    // Every run ended, none left `running` by the shutdown.
    for (const s of ['fast', 'slow', 'cron']) {
      for (const r of await runsOf(location, s)) expect(r.status).not.toBe('running');
    }
  }, 90_000);

  it('finishes the page in progress on SIGTERM, exits 0, and a restart resumes from the checkpoint', async () => {
    const { dir, location } = await project(
      `streams:${streamYaml('customers', 'API', '    schedule: { every: 1h }')}`,
      2000,
      400,
    );
    running = await startRun(dir, location);
    // Mid-run: a page or more committed of the 20 this run reads.
    await untilLastRun(location, 'customers', (run) => run.counters.pages >= 1);
    running.child.kill('SIGTERM');
    const stopped = await running.done;
    expect(stopped.code, stopped.stderr.slice(-1500)).toBe(0);
    const [first] = await runsOf(location, 'customers');
    expect(first!.status).toBe('interrupted');
    expect(first!.counters.fetched).toBeGreaterThan(0);
    expect(first!.counters.fetched).toBeLessThan(2000);
    // Started again: the stream is due at once and reads on from its checkpoint to the end.
    running = await startRun(dir, location);
    await untilLastRun(location, 'customers', (run) => run.status === 'ok');
    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(0);
    const runs = await runsOf(location, 'customers');
    const fetched = runs.reduce((sum, r) => sum + r.counters.inserted, 0);
    expect(fetched).toBe(2000); // each record inserted once across both processes
  }, 120_000);

  it('shares the store with a manual syncline sync through the leases: busy without --wait, after the service with it', async () => {
    const { dir, location } = await project(
      `streams:${streamYaml('customers', 'API', '    schedule: { every: 1h }')}`,
      2000,
      300,
    );
    running = await startRun(dir, location);
    await untilLastRun(location, 'customers', (run) => run.counters.pages >= 1);
    const busy = await collect(spawnCli(['sync', '--store', location], dir));
    expect(busy.code, busy.stderr.slice(-800)).toBe(3);
    const waited = await collect(spawnCli(['sync', '--store', location, '--wait', '60'], dir));
    expect(waited.code, waited.stderr.slice(-800)).toBe(0);
    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(0);
    const runs = await runsOf(location, 'customers');
    // The service's run completed before the manual one started; each record was inserted once.
    expect(runs.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(runs.reduce((sum, r) => sum + r.counters.inserted, 0)).toBe(2000);
  }, 120_000);

  it('requires the token on the API when one is set, never logs it, and backs off a failing stream', async () => {
    const { dir, location } = await project(
      `service: { backoff: { base: 300ms, max: 2s } }
sync: { retry: { maxAttempts: 1 } }
streams:${streamYaml('ok', 'API', '    schedule: { every: 1s }')}${streamYaml(
        'broken',
        await closedUrl(),
        '    schedule: { every: 1s }',
      )}`,
    );
    running = await startRun(dir, location, { SYNCLINE_API_TOKEN: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.url}/v1/streams`)).status).toBe(401);
    expect(
      (await fetch(`${running.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    let broken: { state: string; consecutiveFailures: number; backoffUntil: string | null } | undefined;
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${running.url}/v1/streams`, { headers: auth });
      expect(res.status).toBe(200);
      const streams = (await res.json()) as {
        stream: string;
        state: string;
        consecutiveFailures: number;
        backoffUntil: string | null;
      }[];
      broken = streams.find((s) => s.stream === 'broken');
      if (broken && broken.consecutiveFailures >= 3) break;
      await sleep(250);
    }
    expect(broken!.consecutiveFailures).toBeGreaterThanOrEqual(3);
    const metrics = await (await fetch(`${running.url}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/syncline_runs_total\{stream="broken",mode="sync",status="failed"\} [3-9]/);
    expect(metrics).toMatch(/syncline_records_total\{stream="ok",outcome="inserted"\} 300/);
    // Triggered by hand, it runs again now whatever its backoff.
    const trigger = await fetch(`${running.url}/v1/streams/ok/sync`, { method: 'POST', headers: auth });
    expect(trigger.status).toBe(202);
    running.child.kill('SIGTERM');
    const result = await running.done;
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stdout).not.toContain(TOKEN);
  }, 90_000);
});

describe('syncline run refuses', () => {
  it('to listen beyond loopback without a token (exit 2, one line)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-run-'));
    try {
      writeFileSync(
        join(dir, 'syncline.config.yaml'),
        `streams:${streamYaml('customers', await closedUrl(), '')}`,
      );
      const result = await collect(
        spawnCli(['run', '--store', join(dir, 's.db'), '--listen', '0.0.0.0:0'], dir, {
          SYNCLINE_LOG_FORMAT: 'pretty',
        }),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/SYNCLINE_API_TOKEN/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
