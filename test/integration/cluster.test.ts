import { setTimeout as sleep } from 'node:timers/promises';
import { Logger as QueueLogger, runMigrations } from 'graphile-worker';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/core/errors.ts';
import type { Store } from '../../src/core/store.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { defineConfig, defineStream } from '../../src/index.ts';
import { createRuntime, type Runtime } from '../../src/runtime/create-runtime.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { freshPgSchema, withPgClient } from '../helpers/postgres.ts';

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const STREAMS = ['s1', 's2', 's3', 's4', 's5', 's6'];

/**
 * Workers of one PostgreSQL store in this process (each its own runtime, store connection, holder
 * id and job runners, as separate processes would have): they form one cluster through the job
 * queue beside the schema.
 */
describe('a cluster of workers on one PostgreSQL store', () => {
  let drop: (() => Promise<void>) | null = null;
  const services: Service[] = [];
  const runtimes: Runtime[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await drop?.();
    drop = null;
  });

  /** Runs of each stream in progress now, across every worker, and the most ever at once. */
  const inFlight = new Map<string, number>();
  /** The worker (its map of runs) that started each stream's latest run. */
  const runningOn = new Map<string, Map<string, number>>();
  let mostAtOnce = 0;

  async function location(): Promise<string> {
    const pg = await freshPgSchema({ create: false });
    drop = pg.drop;
    return `${pg.url}?schema=${pg.schema}`;
  }

  function config(
    store: string,
    runs: Map<string, number>,
    options: { every?: string; readMs?: number } = {},
  ) {
    return defineConfig({
      store,
      service: { schedule: { every: options.every ?? '200ms', jitter: 0 }, workerTimeout: '1500ms' },
      sync: { concurrency: 2 },
      streams: STREAMS.map((name) =>
        defineStream({
          name,
          key: 'id',
          async *source({ signal }) {
            runs.set(name, (runs.get(name) ?? 0) + 1);
            runningOn.set(name, runs);
            const now = (inFlight.get(name) ?? 0) + 1;
            inFlight.set(name, now);
            mostAtOnce = Math.max(mostAtOnce, now);
            try {
              await sleep(options.readMs ?? 30, undefined, { signal }).catch(() => undefined);
              yield { records: [{ id: 1, run: runs.get(name)! }], checkpoint: null };
            } finally {
              inFlight.set(name, inFlight.get(name)! - 1);
            }
          },
        }),
      ),
    });
  }

  async function worker(
    store: string,
    runs: Map<string, number>,
    options?: { every?: string; readMs?: number },
  ) {
    const runtime = createRuntime({ config: { code: config(store, runs, options) } });
    runtimes.push(runtime);
    const service = await startService({ runtime, log: SILENT_LOGGER });
    services.push(service);
    await service.start();
    return service;
  }

  async function openedStore(at: string): Promise<Store> {
    const store = await openStore(at);
    stores.push(store);
    return store;
  }

  it('spreads the scheduled runs over the workers: each stream queued once, never run twice at once, every worker listed', async () => {
    mostAtOnce = 0;
    const at = await location();
    const runsA = new Map<string, number>();
    const runsB = new Map<string, number>();
    await worker(at, runsA);
    await worker(at, runsB);
    const total = (runs: Map<string, number>) => [...runs.values()].reduce((a, b) => a + b, 0);
    await until('both workers to run streams', () => total(runsA) > 6 && total(runsB) > 6);
    for (const stream of STREAMS) {
      await until(`stream ${stream} to run`, () => (runsA.get(stream) ?? 0) + (runsB.get(stream) ?? 0) > 2);
    }
    expect(mostAtOnce).toBe(1);

    // One scheduled job per stream, whatever the number of workers (its job key).
    const schema = new URL(at).searchParams.get('schema')!;
    const keys = await withPgClient(async (client) => {
      const { rows } = await client.query<{ key: string; n: number }>(
        `SELECT key, count(*)::int AS n FROM "${schema}_jobs".jobs WHERE key LIKE 'sync:%' GROUP BY key ORDER BY key`,
      );
      return rows;
    });
    expect(keys.filter((k) => k.n !== 1)).toEqual([]);

    const store = await openedStore(at);
    const workers = await store.cluster!().listWorkers();
    expect(workers).toHaveLength(2);
    for (const w of workers) {
      expect(w).toMatchObject({ pid: process.pid, version: '0.1.0', concurrency: 2, live: true });
    }
    // Every run of every stream ended ok: none was refused by the other's lease (busy) or fenced.
    const runs = await store.listRuns({ limit: 1000 });
    expect(runs.filter((r) => r.status !== 'ok' && r.status !== 'running')).toEqual([]);
  }, 60_000);

  it('runs what is triggered once, on whichever worker is free, and a stopping worker hands its run back to the others', async () => {
    const at = await location();
    const runsA = new Map<string, number>();
    const runsB = new Map<string, number>();
    // No schedule of their own: only what is triggered runs. Slow reads, to be stopped mid-run.
    const a = await worker(at, runsA, { every: '1h', readMs: 1500 });
    await worker(at, runsB, { every: '1h', readMs: 1500 });
    // The first scheduled runs (due at start) go first. One store to watch them (a store a poll
    // opened a pool each time, and the suite beside it found the server out of connections).
    const store = await openedStore(at);
    await until('the first runs to end', async () => {
      const runs = await store.listRuns({ limit: 100 });
      return runs.filter((r) => r.status === 'ok').length === STREAMS.length;
    });
    const runsOf = (stream: string) => (runsA.get(stream) ?? 0) + (runsB.get(stream) ?? 0);
    const s1 = runsOf('s1');
    // Every slot of both workers busy (2 each) with slow reconciliations: s1, asked twice, waits queued.
    for (const stream of ['s3', 's4', 's5', 's6']) await a.control.trigger(stream, 'reconcile');
    await until('every slot to be busy', () => ['s3', 's4', 's5', 's6'].every((s) => inFlight.get(s) === 1));
    const first = await a.control.trigger('s1', 'sync');
    const second = await services[1]!.control.trigger('s1', 'sync');
    expect([first.state, second.state]).toEqual(['queued', 'queued']);
    await until('the triggered run', () => runsOf('s1') === s1 + 1);
    await sleep(2500);
    // Asked twice while queued: one run.
    expect(runsOf('s1')).toBe(s1 + 1);

    // A run in progress on a worker that stops: interrupted there, queued again, finished by the other.
    await a.control.trigger('s2', 'reconcile');
    await until('a worker to start s2', () => (inFlight.get('s2') ?? 0) === 1);
    const onA = runningOn.get('s2') === runsA;
    const stopping = onA ? a : services[1]!;
    const other = onA ? runsB : runsA;
    const otherBefore = other.get('s2') ?? 0;
    await stopping.stop();
    await until('the other worker to run s2', () => (other.get('s2') ?? 0) > otherBefore, 15_000);
    await until('the handed-back reconcile to end ok', async () => {
      const runs = await store.listRuns({ stream: 's2', limit: 10 });
      return runs[0]?.mode === 'reconcile' && runs[0].status === 'ok';
    });
    const modes = (await store.listRuns({ stream: 's2', limit: 10 })).map((r) => `${r.mode}:${r.status}`);
    expect(modes.slice(0, 2)).toEqual(['reconcile:ok', 'reconcile:interrupted']);
  }, 60_000);

  it('syncline serve joins no cluster: it takes no job, and queues what is asked for it for the workers', async () => {
    const at = await location();
    const servedRuns = new Map<string, number>();
    const runtime = createRuntime({ config: { code: config(at, servedRuns, { every: '1h' }) } });
    runtimes.push(runtime);
    const served = await startService({ runtime, log: SILENT_LOGGER, mode: 'serve' });
    services.push(served);
    await served.start();
    const store = await openedStore(at);
    expect(await store.cluster!().listWorkers()).toEqual([]);
    // No worker ever started: no queue, and nothing would take the run.
    await expect(served.control.trigger('s1', 'sync')).rejects.toThrow(
      /the cluster has no job queue .* yet: start a worker \(`syncline run`\) on this store/,
    );

    const runs = new Map<string, number>();
    await worker(at, runs, { every: '1h' });
    await until('the scheduled first runs', () => STREAMS.every((s) => (runs.get(s) ?? 0) === 1));
    expect(await served.control.trigger('s1', 'sync')).toEqual({
      state: 'queued',
      stream: 's1',
      mode: 'sync',
    });
    await until('the worker to run the triggered sync', () => runs.get('s1') === 2);
    expect(servedRuns.size).toBe(0);
    expect(await store.cluster!().listWorkers()).toHaveLength(1);
    expect((await store.listActions({ stream: 's1', limit: 5 })).map((a) => [a.action, a.origin])).toEqual([
      ['sync', 'api'],
    ]);
  }, 60_000);

  it('runs a stream asked for in two ways at once on one worker one run after the other, neither fenced off by the other', async () => {
    const at = await location();
    const runs = new Map<string, number>();
    // Two slots: a sync of s1 and a reconcile of s1 (two job keys) could start side by side.
    const one = await worker(at, runs, { every: '1h', readMs: 800 });
    const store = await openedStore(at);
    await until('the first runs to end', async () => {
      const all = await store.listRuns({ limit: 100 });
      return all.filter((r) => r.status === 'ok').length === STREAMS.length;
    });
    await one.control.trigger('s1', 'sync');
    await until('the sync of s1 to start', () => inFlight.get('s1') === 1);
    await one.control.trigger('s1', 'reconcile');
    await until('both runs to end', async () => {
      const latest = await store.listRuns({ stream: 's1', limit: 10 });
      return latest.filter((r) => r.status !== 'running').length >= 3 && latest[0]?.mode === 'reconcile';
    });
    const latest = await store.listRuns({ stream: 's1', limit: 10 });
    expect(latest.map((r) => `${r.mode}:${r.status}`).slice(0, 3)).toEqual([
      'reconcile:ok',
      'sync:ok',
      'sync:ok',
    ]);
  }, 60_000);

  it('takes a worker of another host that stopped beating for dead: its lease is fenced off and its locked job runs elsewhere', async () => {
    const at = await location();
    const store = await openedStore(at);
    const schema = new URL(at).searchParams.get('schema')!;
    // A worker "far" of another machine (this one cannot see its process), silent from now on, holds
    // s1's lease for an hour and has locked its scheduled job.
    const far = 'far-host:4242:abc123';
    await store.ensureStream('s1');
    const held = await store.acquireLease({
      stream: 's1',
      holder: far,
      ttlMs: 3_600_000,
      at: new Date().toISOString(),
    });
    if (!('lease' in held)) throw new Error('the far worker could not take the lease');
    await store.cluster!().registerWorker({
      id: far,
      host: 'far-host',
      pid: 4242,
      version: '0.1.0',
      concurrency: 1,
      timeoutMs: 3000,
    });
    await store.cluster!().heartbeat(far, { queueWorkers: ['far-runner-1'], running: [] });
    const lastBeat = Date.now();

    const runs = new Map<string, number>();
    await worker(at, runs, { every: '300ms' });
    // The worker's seeding queued s1's job; the far worker "takes" it now.
    await withPgClient((client) =>
      client.query(
        `UPDATE "${schema}_jobs"._private_jobs SET locked_at = now(), locked_by = 'far-runner-1' WHERE key = 'sync:s1'`,
      ),
    );
    await until('s1 to run on the live worker', () => (runs.get('s1') ?? 0) > 0, 15_000);
    // Not before the far worker's timeout (3 s after its last heartbeat, the database's clock)
    // passed: until then s1 was busy (its lease held), while the other streams ran.
    const firstRun = (await store.listRuns({ stream: 's1', limit: 100 })).at(-1)!;
    expect(Date.parse(firstRun.startedAt) - lastBeat).toBeGreaterThan(2500);
    expect((runs.get('s2') ?? 0) > 0).toBe(true);
    expect((await store.cluster!().listWorkers()).map((w) => w.id)).not.toContain(far);
    // The far worker, should it wake up, is fenced off: its lease's epoch is gone.
    await expect(store.renewLease(held.lease, 30_000, new Date().toISOString())).rejects.toBeInstanceOf(
      LeaseLostError,
    );
  }, 60_000);

  it('keeps taking jobs when another store of the same database installs its job queue (whose migration notice reaches every listener of the database)', async () => {
    const at = await location();
    const runs = new Map<string, number>();
    await worker(at, runs);
    const total = () => [...runs.values()].reduce((a, b) => a + b, 0);
    await until('the first runs', () => total() > STREAMS.length);
    // Another store's queue in this database: its breaking migrations are notified database-wide.
    const other = await freshPgSchema({ create: false });
    const exitCode = process.exitCode;
    try {
      await runMigrations({
        connectionString: other.url,
        schema: `${other.schema}_jobs`,
        logger: new QueueLogger(() => () => undefined),
      });
      await sleep(500);
      const before = total();
      await until(
        'runs after the other queue was installed',
        () => total() > before + STREAMS.length,
        10_000,
      );
      // The queue did not mark the process to exit as unsafe (its code 57).
      expect(process.exitCode).toBe(exitCode);
    } finally {
      process.exitCode = exitCode;
      await other.drop();
    }
  }, 60_000);

  it('still stops taking jobs on a breaking migration of its own queue (a newer queue beside it)', async () => {
    const at = await location();
    const runs = new Map<string, number>();
    const service = await worker(at, runs);
    const total = () => [...runs.values()].reduce((a, b) => a + b, 0);
    await until('the first runs', () => total() > STREAMS.length);
    const schema = new URL(at).searchParams.get('schema')!;
    const exitCode = process.exitCode;
    try {
      // As a newer worker would: a breaking migration this one does not know, then its notice.
      await withPgClient(async (client) => {
        await client.query(`INSERT INTO "${schema}_jobs".migrations (id, breaking) VALUES (9999, true)`);
        await client.query(`SELECT pg_notify('worker:migrate', '{"migrationNumber":9999,"breaking":true}')`);
      });
      await until('the queue to mark the process as unsafe to go on', () => process.exitCode === 57, 5000);
      await sleep(1500);
      const after = total();
      await sleep(2000);
      expect(total()).toBe(after);
      // It says so: not ready (GET /readyz answers 503), and it left the cluster.
      expect(service.scheduler.running).toBe(false);
      expect((await service.control.ready()).ready).toBe(false);
    } finally {
      process.exitCode = exitCode;
    }
  }, 60_000);

  it('beats its heartbeat while it starts: a start slower than the worker timeout does not get it taken for dead', async () => {
    const at = await location();
    const runs = new Map<string, number>();
    await worker(at, runs);
    const schema = new URL(at).searchParams.get('schema')!;
    const store = await openedStore(at);
    // The seeding lock held (as by other workers starting at once): the second worker's start waits
    // in its seeding, its job runners already running, for longer than the timeout (1.5 s).
    await withPgClient(async (client) => {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `syncline:seed:${schema}_jobs`,
      ]);
      const runtime = createRuntime({ config: { code: config(at, new Map()) } });
      runtimes.push(runtime);
      const second = await startService({ runtime, log: SILENT_LOGGER });
      services.push(second);
      const starting = second.start();
      await until(
        'the second worker to register',
        async () => (await store.cluster!().listWorkers()).length === 2,
      );
      await sleep(4000);
      const workers = await store.cluster!().listWorkers();
      await client.query('COMMIT');
      await starting;
      expect(workers.map((w) => w.live)).toEqual([true, true]);
    });
    expect(await store.cluster!().listWorkers()).toHaveLength(2);
  }, 60_000);

  it('refuses to migrate the store beside a live worker of an older version, naming it', async () => {
    const at = await location();
    const store = await openedStore(at);
    await store.cluster!().registerWorker({
      id: 'old-host:7:abc',
      host: 'old-host',
      pid: 7,
      version: '0.0.9',
      concurrency: 4,
      timeoutMs: 60_000,
    });
    const schema = new URL(at).searchParams.get('schema')!;
    // As if the store were one version behind this Syncline and the old worker knew only that one.
    await withPgClient(async (client) => {
      const { rows } = await client.query<{ v: number }>(
        `SELECT max(version) AS v FROM "${schema}".syncline_schema`,
      );
      await client.query(`UPDATE "${schema}".syncline_workers SET schema_version = $1 - 1`, [rows[0]!.v]);
      await client.query(`DELETE FROM "${schema}".syncline_schema WHERE version = $1`, [rows[0]!.v]);
    });
    await expect(openStore(at)).rejects.toThrow(
      /live worker of an older version uses it: old-host pid 7 \(Syncline 0\.0\.9, schema \d+\); stop them first/,
    );
  }, 30_000);
});
