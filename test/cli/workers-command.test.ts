import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/runtime/open-store.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { apiUrlOf, type CliResult, collect, runCli, spawnCli } from './cli-harness.ts';

const TOKEN = 'workers-test-token-3b7d';

/** What `syncline workers --json` prints, as far as this test looks. */
interface Listed {
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly live: boolean;
  readonly running: readonly { job: string }[];
}

describe('syncline workers, with syncline run processes of one PostgreSQL store', () => {
  let t: TestStore | null = null;
  let sim: SimulatorServer | null = null;
  let dir: string | null = null;
  const children: { kill(signal: NodeJS.Signals): boolean; done: Promise<CliResult> }[] = [];
  afterEach(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.splice(0).map((c) => c.done));
    await sim?.close();
    sim = null;
    await t?.dispose();
    t = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  /** `syncline workers --json`. */
  async function workers(): Promise<Listed[]> {
    const result = await runCli(['workers', '--store', t!.location, '--json'], dir!);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Listed[];
  }

  /** The same list read in this process: polled without a process start per look. */
  async function workerRows(): Promise<Listed[]> {
    const store = await openStore(t!.location, { mode: 'read' });
    try {
      return await store.cluster!().listWorkers();
    } finally {
      await store.close();
    }
  }

  async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const end = Date.now() + 30_000;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await sleep(200);
    }
  }

  it('lists each live worker (host, pid, version, its jobs) on the CLI and the API; a killed one is taken over, a stopped one leaves', async () => {
    t = await makeTestStore('postgres');
    await t.store.close();
    const simulator = await startSimulator({
      seed: 3,
      datasets: { customers: 200 },
      mutations: { ratePerSecond: 0 },
    });
    sim = simulator;
    dir = mkdtempSync(join(tmpdir(), 'syncline-workers-'));
    const streams = ['a', 'b', 'c', 'd']
      .map(
        (name) => `
  - name: ${name}
    key: id
    cursor: updated_at
    request: { baseUrl: ${simulator.url}, path: /v1/customers, query: { style: cursor } }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    pageSize: 50
    schedule: { every: 1s, jitter: 0 }`,
      )
      .join('');
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      `service: { shutdownTimeout: 5s, workerTimeout: 20s }\nstreams:${streams}\n`,
    );
    const start = () => {
      const child = spawnCli(['run', '--store', t!.location, '--listen', '127.0.0.1:0'], dir!, {
        SYNCLINE_API_TOKEN: TOKEN,
      });
      const running = { kill: (s: NodeJS.Signals) => child.kill(s), done: collect(child), child };
      children.push(running);
      return running;
    };
    const first = start();
    const second = start();
    const [, url] = await Promise.all([apiUrlOf(first.child), apiUrlOf(second.child)]);

    await until('two live workers', workerRows, (w) => w.length === 2 && w.every((x) => x.live));
    const listed = await workers();
    expect(listed.map((w) => w.pid).sort()).toEqual([first.child.pid, second.child.pid].sort());
    for (const w of listed) expect(w).toMatchObject({ version: '0.1.0', live: true });
    // Both take runs: every stream runs every second, each run on whichever worker is free.
    await until('each worker to be seen running a job', workerRows, (w) =>
      w.some((x) => x.running.length > 0),
    );

    const table = await runCli(['workers', '--store', t.location], dir);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/HOST\s+PID\s+VERSION\s+STARTED\s+HEARTBEAT\s+STATE\s+RUNNING/);
    expect(table.stdout).toContain(String(first.child.pid));
    expect(table.stdout).toContain('live');

    const api = await fetch(`${url}/v1/workers`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(200);
    const fromApi = (await api.json()) as Listed[];
    expect(fromApi.map((w) => w.pid).sort()).toEqual(listed.map((w) => w.pid).sort());
    expect((await fetch(`${url}/v1/workers`)).status).toBe(401);

    // SIGKILL: the survivor sees the process is gone (this machine) and takes it at its next heartbeat,
    // long before the 20 s timeout.
    const killedAt = Date.now();
    first.kill('SIGKILL');
    await first.done;
    await until('the killed worker to be taken', workerRows, (w) => w.length === 1);
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    // SIGTERM: exit 0, and the worker leaves the cluster.
    second.kill('SIGTERM');
    const stopped = await second.done;
    expect(stopped.code, stopped.stderr.slice(-1500)).toBe(0);
    expect(await workers()).toEqual([]);
    const empty = await runCli(['workers', '--store', t.location], dir);
    expect(empty.stdout).toContain('no workers: start `syncline run` on this store');
  }, 90_000);

  it('says a SQLite store has no cluster', async () => {
    t = await makeTestStore('sqlite');
    await t.store.close();
    dir = mkdtempSync(join(tmpdir(), 'syncline-workers-'));
    const result = await runCli(['workers', '--store', t.location], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('a sqlite store has no cluster');
    const json = await runCli(['workers', '--store', t.location, '--json'], dir);
    expect(JSON.parse(json.stdout)).toEqual([]);
  }, 30_000);
});
