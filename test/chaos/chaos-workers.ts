import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import type { Store } from '../../src/core/store.ts';
import type { RunRecord } from '../../src/core/types.ts';
import type { SimulatorServer } from '../../src/simulator/index.ts';
import { diffWithGroundTruth } from '../helpers/ground-truth.ts';
import { type ChaosStyle, chaosConfigYaml, streamName } from './chaos-config.ts';
import { checkpointRegressions } from './chaos-harness.ts';
import type { ChaosRandom } from './chaos-schedule.ts';

/**
 * The cluster chaos (`--workers N`): N `syncline run` workers at once on one PostgreSQL store, each
 * stream's runs a job of the queue they share, while workers are SIGKILLed or SIGTERMed at seeded
 * moments and replaced at once. Its checks beside the ground truth: no two writers on one stream
 * (runs that overlap in `syncline_runs`), one job per stream in the queue at any moment (sampled),
 * every worker ran runs, and no worker left registered once all stopped.
 */

/** Streams of a workers run: the styles' own, then copies up to this many. */
export const WORKER_STREAMS = 50;
/** Customers at the start of a workers run (every one of the 50 streams loads them all). */
export const WORKER_RECORDS = 400;
/** How long the end waits for the workers started last to join the cluster. */
const JOIN_WAIT_MS = 60_000;
/** `service.workerTimeout` of the workers: a worker of another host is taken for dead after it. */
export const WORKER_TIMEOUT_MS = 3000;
/** `sync.concurrency` of each worker (N workers hold N times this many runs, and connections). */
export const WORKER_CONCURRENCY = 6;
/** `service.shutdownTimeout` of the chaos config: a SIGTERMed worker must exit 0 within it. */
const SHUTDOWN_TIMEOUT_MS = 20_000;
/** A worker is a victim only this long after it joined the cluster: every worker runs some runs. */
const MIN_LIFE_MS = 2000;
/** No kill in the chaos's last stretch: the survivors take the last dead worker meanwhile. */
const QUIET_END_MS = 4000;
/** How often the queue is sampled for two jobs of one stream. */
const SAMPLE_EVERY_MS = 200;
/** What a run closed by the next one says (its worker was killed mid-run). */
const ABANDONED = /^the run ended without recording an end/;
/** What a run refused by the fence says (another worker holds the stream's lease now). */
const LEASE_LOST = /lost the lease on stream/;

/**
 * The copies that bring a workers run to `WORKER_STREAMS` streams: incremental styles that accept
 * version regressions (so each must end equal to the source), named `<style's stream>_<n>`.
 */
const COPY_STYLES: readonly ChaosStyle[] = ['cursor', 'keyset', 'keyset-gte', 'window'];

export interface StreamCopy {
  readonly name: string;
  readonly style: ChaosStyle;
}

export function streamCopies(styles: readonly ChaosStyle[], total = WORKER_STREAMS): StreamCopy[] {
  const copies: StreamCopy[] = [];
  for (let i = 0; styles.length + copies.length < total; i++) {
    const style = COPY_STYLES[i % COPY_STYLES.length]!;
    copies.push({ name: `${streamName(style)}_${Math.floor(i / COPY_STYLES.length) + 2}`, style });
  }
  return copies;
}

/**
 * The chaos config of a workers run: the styles' config (`chaosConfigYaml`, scheduled) with the
 * copies added, a short worker timeout and a bounded concurrency per worker.
 */
export function workersConfigYaml(base: string, baseUrl: string, copies: readonly StreamCopy[]): string {
  const config = parse(base) as {
    service: Record<string, unknown>;
    streams: Record<string, unknown>[];
    sync: Record<string, unknown>;
  };
  const templates = new Map(
    (parse(chaosConfigYaml(baseUrl, COPY_STYLES, 200)) as { streams: Record<string, unknown>[] }).streams.map(
      (s) => [s['name'] as string, s],
    ),
  );
  const page = config.streams[0]?.['pageSize'] ?? 200;
  for (const copy of copies) {
    config.streams.push({ ...templates.get(streamName(copy.style))!, name: copy.name, pageSize: page });
  }
  // Every 2 s rather than the harness's 1 s: 50 streams on 3 workers of a 2-core machine.
  config.service = {
    ...config.service,
    schedule: { every: '2s', jitter: '200ms' },
    workerTimeout: `${WORKER_TIMEOUT_MS}ms`,
  };
  config.sync = { ...config.sync, concurrency: WORKER_CONCURRENCY };
  return stringify(config);
}

interface WorkerProcess {
  readonly n: number;
  readonly child: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  readonly spawnedAt: number;
  joinedAt: number | null;
  /** Its holder id in `syncline_workers`, from its "joined the cluster" line. */
  holder: string | null;
  /** The runs it logged (any line with a runId). */
  readonly runs: Set<string>;
  fate: 'kill' | 'term' | 'end' | null;
}

export interface WorkerChaosRun {
  readonly processes: number;
  readonly kills: number;
  readonly terms: number;
  /** Slowest exit after a SIGTERM (ms). */
  readonly slowestTermMs: number;
  readonly workers: readonly {
    n: number;
    runs: number;
    fate: string;
    holder: string | null;
    runIds: ReadonlySet<string>;
  }[];
  readonly samples: number;
  /** Samples of the queue's `jobs` view where one `sync:<stream>` key had two jobs. */
  readonly duplicateKeys: string[];
  /** Samples where one stream had two scheduled jobs waiting (two chains of its job). */
  readonly twoChains: string[];
  /** Samples where one stream had two scheduled jobs locked at once (a hand-off in progress). */
  readonly twoLocked: number;
  readonly failure: string | null;
  /** Rows of `syncline_workers` once every worker stopped. */
  readonly leftRegistered: string[];
  readonly problems: string[];
}

export interface WorkerChaosArgs {
  readonly workers: number;
  readonly durationMs: number;
  readonly random: ChaosRandom;
  readonly sim: SimulatorServer;
  readonly location: string;
  readonly spawn: () => {
    child: ChildProcess;
    exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  };
  readonly log: (line: string) => void;
}

/**
 * N workers at once; at seeded moments one joined at least `MIN_LIFE_MS` ago is SIGKILLed or
 * SIGTERMed and a replacement started. The queue is sampled all along. At the end the mutations
 * stop, the workers run a little more and are stopped (SIGTERM, exit 0 each), and the workers table
 * must be empty.
 */
export async function runWorkerChaos(args: WorkerChaosArgs): Promise<WorkerChaosRun> {
  const { random, sim, log } = args;
  const problems: string[] = [];
  const all: WorkerProcess[] = [];
  const terming: Promise<void>[] = [];
  let slowestTermMs = 0;
  let kills = 0;
  let terms = 0;
  const start = (): WorkerProcess => {
    const { child, exit } = args.spawn();
    const worker: WorkerProcess = {
      n: all.length + 1,
      child,
      exit,
      spawnedAt: Date.now(),
      joinedAt: null,
      holder: null,
      runs: new Set(),
      fate: null,
    };
    let partial = '';
    const keep = process.env['CHAOS_WORKER_LOGS'];
    child.stderr?.on('data', (d: Buffer) => {
      if (keep) appendFileSync(`${keep}/worker-${worker.n}.log`, d);
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        let entry: { msg?: string; runId?: string; worker?: string };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.runId) worker.runs.add(entry.runId);
        if (entry.msg?.startsWith('joined the cluster')) {
          worker.joinedAt = Date.now();
          worker.holder = entry.worker ?? null;
        }
      }
    });
    // A worker that ends on its own (not killed, not stopped) is a problem.
    void exit.then((result) => {
      if (worker.fate === null)
        problems.push(
          `worker ${worker.n} exited by itself (${result.signal ?? result.code}): ${tail(result.stderr)}`,
        );
    });
    all.push(worker);
    log(`worker ${worker.n}: started (pid ${child.pid})`);
    return worker;
  };
  const alive = () => all.filter((w) => w.fate === null);
  const term = (worker: WorkerProcess, why: 'term' | 'end') => {
    worker.fate = why;
    const sent = Date.now();
    worker.child.kill('SIGTERM');
    terming.push(
      withDeadline(worker.exit, SHUTDOWN_TIMEOUT_MS + 10_000, () => worker.child.kill('SIGKILL')).then(
        (result) => {
          const took = Date.now() - sent;
          slowestTermMs = Math.max(slowestTermMs, took);
          log(`worker ${worker.n}: exit ${result.signal ?? result.code} ${took} ms after SIGTERM`);
          if (result.code !== 0)
            problems.push(
              `worker ${worker.n} exited ${result.signal ?? result.code} after SIGTERM: ${tail(result.stderr)}`,
            );
          else if (took > SHUTDOWN_TIMEOUT_MS)
            problems.push(
              `worker ${worker.n} took ${took} ms to exit after SIGTERM (shutdown timeout ${SHUTDOWN_TIMEOUT_MS} ms)`,
            );
        },
      ),
    );
  };

  const sampler = sampleQueue(args.location);
  try {
    for (let i = 0; i < args.workers; i++) start();
    const end = Date.now() + args.durationMs;
    let events = 0;
    while (Date.now() < end - QUIET_END_MS) {
      await sleep(Math.min(random.int(1500, 5000), Math.max(0, end - QUIET_END_MS - Date.now())));
      sim.mutate(random.int(0, 40));
      if (Date.now() >= end - QUIET_END_MS) break;
      const eligible = alive().filter((w) => w.joinedAt !== null && Date.now() - w.joinedAt >= MIN_LIFE_MS);
      if (eligible.length === 0) continue;
      const victim = random.pick(eligible);
      const roll = random.next();
      events++;
      // Both kinds at least once whatever the seed draws.
      const kind =
        events >= 3 && kills === 0
          ? 'kill'
          : events >= 3 && terms === 0
            ? 'term'
            : roll < 0.6
              ? 'kill'
              : 'term';
      if (kind === 'kill') {
        victim.fate = 'kill';
        victim.child.kill('SIGKILL');
        kills++;
        log(`worker ${victim.n}: SIGKILL ${Date.now() - victim.joinedAt!} ms after it joined`);
      } else {
        terms++;
        log(`worker ${victim.n}: SIGTERM ${Date.now() - victim.joinedAt!} ms after it joined`);
        term(victim, 'term');
      }
      start();
    }
    // The end: no more changes; the workers bring the streams up to date, then stop, each once it
    // joined and ran a little (one stopped while Node still loads dies of the signal itself).
    sim.setMutations({ ratePerSecond: 0 });
    await sleep(Math.max(0, end - Date.now()));
    const joinBy = Date.now() + JOIN_WAIT_MS;
    while (alive().some((w) => w.joinedAt === null || Date.now() - w.joinedAt < MIN_LIFE_MS)) {
      if (Date.now() > joinBy) {
        problems.push(
          `workers ${alive()
            .filter((w) => w.joinedAt === null)
            .map((w) => w.n)
            .join(', ')} did not join within ${JOIN_WAIT_MS} ms`,
        );
        break;
      }
      await sleep(100);
    }
    for (const worker of alive()) term(worker, 'end');
    await Promise.all(terming);
    await Promise.all(all.map((w) => w.exit));
  } catch (error) {
    await sampler.stop().catch(() => undefined);
    throw error;
  } finally {
    for (const worker of alive()) {
      worker.fate = 'kill';
      worker.child.kill('SIGKILL');
    }
  }
  const sampled = await sampler.stop();
  if (sampled.failure) problems.push(sampled.failure);
  const leftRegistered = await registeredWorkers(args.location);
  for (const row of leftRegistered) problems.push(`still registered after every worker stopped: ${row}`);
  for (const hit of sampled.duplicateKeys.slice(0, 5))
    problems.push(`two jobs of one key in the queue: ${hit}`);
  for (const hit of sampled.twoChains.slice(0, 5))
    problems.push(`two scheduled jobs waiting for one stream: ${hit}`);
  for (const worker of all) {
    if (worker.runs.size === 0)
      problems.push(
        `worker ${worker.n} (${worker.fate}) ran no run in ${worker.joinedAt ? `${Date.now() - worker.joinedAt} ms` : 'its life (it never joined)'}`,
      );
  }
  return {
    processes: all.length,
    kills,
    terms,
    slowestTermMs,
    workers: all.map((w) => ({
      n: w.n,
      runs: w.runs.size,
      fate: w.fate ?? '?',
      holder: w.holder,
      runIds: w.runs,
    })),
    ...sampled,
    leftRegistered,
    problems,
  };
}

function storeSchema(location: string): { url: string; schema: string } {
  const url = new URL(location);
  const schema = url.searchParams.get('schema') ?? 'public';
  url.searchParams.delete('schema');
  return { url: url.toString(), schema };
}

/**
 * Samples the queue every `SAMPLE_EVERY_MS` until stopped: the `jobs` view for a `sync:` key held
 * by two jobs (what the issue asks), and the jobs themselves for two scheduled jobs of one stream
 * waiting at once (a second chain: the key alone cannot show it, a job losing its key to a newer
 * one keeps running) or locked at once.
 */
function sampleQueue(location: string): {
  stop(): Promise<{
    samples: number;
    duplicateKeys: string[];
    twoChains: string[];
    twoLocked: number;
    failure: string | null;
  }>;
} {
  const { url, schema } = storeSchema(location);
  const queue = schema === 'public' ? 'syncline_jobs' : `${schema}_jobs`;
  const client = new pg.Client({ connectionString: url, application_name: 'chaos-queue-sampler' });
  client.on('error', () => undefined);
  let stopped = false;
  let samples = 0;
  let twoLocked = 0;
  let failure: string | null = null;
  const duplicateKeys: string[] = [];
  const twoChains: string[] = [];
  const loop = (async () => {
    try {
      await client.connect();
    } catch (error) {
      failure = `the queue sampler could not connect: ${(error as Error).message}`;
      return;
    }
    while (!stopped) {
      try {
        const keys = await client.query<{ key: string; count: string }>(
          `SELECT key, count(*) FROM "${queue}".jobs WHERE key LIKE 'sync:%' GROUP BY key HAVING count(*) > 1`,
        );
        const streams = await client.query<{ stream: string; waiting: string; locked: string }>(
          `SELECT j.payload->>'stream' AS stream,
                  count(*) FILTER (WHERE j.locked_at IS NULL AND j.attempts < j.max_attempts) AS waiting,
                  count(*) FILTER (WHERE j.locked_at IS NOT NULL) AS locked
             FROM "${queue}"._private_jobs j
             JOIN "${queue}"._private_tasks t ON t.id = j.task_id
            WHERE t.identifier = 'syncline_run' AND j.payload->>'scheduled' = 'true'
            GROUP BY 1
           HAVING count(*) FILTER (WHERE j.locked_at IS NULL AND j.attempts < j.max_attempts) > 1
               OR count(*) FILTER (WHERE j.locked_at IS NOT NULL) > 1`,
        );
        samples++;
        const at = new Date().toISOString();
        for (const row of keys.rows) duplicateKeys.push(`${at} ${row.key} x${row.count}`);
        for (const row of streams.rows) {
          if (Number(row.waiting) > 1) twoChains.push(`${at} ${row.stream}: ${row.waiting} waiting`);
          if (Number(row.locked) > 1) twoLocked++;
        }
      } catch (error) {
        // The queue's schema appears with the first worker, table by table and column by column
        // (its migrations); past the first sample, or any other failure, ends the sampling.
        const code = (error as { code?: string }).code;
        if (samples > 0 || !['42P01', '3F000', '42703', '42883'].includes(code ?? '')) {
          failure = `the queue sampler failed: ${(error as Error).message}`;
          return;
        }
      }
      await sleep(SAMPLE_EVERY_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      try {
        await loop;
      } finally {
        await client.end().catch(() => undefined);
      }
      return { samples, duplicateKeys, twoChains, twoLocked, failure };
    },
  };
}

async function registeredWorkers(location: string): Promise<string[]> {
  const { url, schema } = storeSchema(location);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; pid: number; heartbeat_at: Date }>(
      `SELECT id, pid, heartbeat_at FROM "${schema}".syncline_workers ORDER BY started_at`,
    );
    return rows.map((r) => `${r.id} (pid ${r.pid}, last heartbeat ${r.heartbeat_at.toISOString()})`);
  } finally {
    await client.end();
  }
}

export interface WorkerCheck {
  readonly run: WorkerChaosRun;
  readonly streams: number;
  readonly runs: number;
  /** Overlapping runs of one stream, neither a killed worker's abandoned run nor a fenced one. */
  readonly overlaps: string[];
  /** Overlaps of a killed worker's run left `running` with the next run of its stream. */
  readonly abandonedOverlaps: string[];
  /** Runs the fence refused (their error: the lease was lost). */
  readonly leaseLost: number;
  /** Runs a killed worker left `running`, closed by the next run of their stream. */
  readonly abandoned: number;
  /** The copies against the source. */
  readonly copies: {
    records: number;
    missing: number;
    duplicated: number;
    stale: number;
    wronglyLive: number;
    deadLetters: number;
    /** Checkpoint watermarks that moved backwards. */
    regressions: number;
  };
  readonly differences: string[];
}

/**
 * After the final syncs: the runs of every stream in `syncline_runs` (no two overlap but a killed
 * worker's abandoned run with the next), the fence's refusals, and the copies against the source.
 */
export async function checkWorkers(
  store: Store,
  sim: SimulatorServer,
  streams: readonly string[],
  copies: readonly StreamCopy[],
  run: WorkerChaosRun,
): Promise<WorkerCheck> {
  const overlaps: string[] = [];
  const abandonedOverlaps: string[] = [];
  const differences: string[] = [];
  let leaseLost = 0;
  let abandoned = 0;
  let runs = 0;
  const owner = new Map<string, number>();
  for (const worker of run.workers) for (const id of worker.runIds) owner.set(id, worker.n);
  const who = (r: RunRecord) => (owner.has(r.runId) ? `worker ${owner.get(r.runId)}` : 'a sync');
  for (const stream of streams) {
    const list = (await store.listRuns({ stream, limit: 100_000 })).sort(
      (a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt),
    );
    runs += list.length;
    leaseLost += list.filter((r) => r.error !== null && LEASE_LOST.test(r.error)).length;
    abandoned += list.filter((r) => r.error !== null && ABANDONED.test(r.error)).length;
    let open: RunRecord | null = null;
    for (const r of list) {
      const startMs = Date.parse(r.startedAt);
      if (open && startMs < endOf(open)) {
        const line = `${stream}: run ${open.runId} (${who(open)}, ${open.status}, ${open.startedAt} to ${open.endedAt ?? 'open'}) overlaps run ${r.runId} (${who(r)}, from ${r.startedAt})`;
        if (open.error !== null && ABANDONED.test(open.error)) abandonedOverlaps.push(line);
        else if (open.error !== null && LEASE_LOST.test(open.error))
          abandonedOverlaps.push(`${line} (fenced)`);
        else overlaps.push(line);
      }
      if (!open || endOf(r) > endOf(open)) open = r;
    }
  }
  const copiesTally = {
    records: 0,
    missing: 0,
    duplicated: 0,
    stale: 0,
    wronglyLive: 0,
    deadLetters: 0,
    regressions: 0,
  };
  for (const copy of copies) {
    let diff: Awaited<ReturnType<typeof diffWithGroundTruth>>;
    try {
      diff = await diffWithGroundTruth(store, copy.name, sim, 'customers', { hardDeletes: true });
    } catch (error) {
      copiesTally.duplicated++;
      differences.push(`${copy.name}: ${(error as Error).message}`);
      continue;
    }
    const letters = (await store.listDeadLetters({ stream: copy.name, limit: 100_000, all: true })).filter(
      (letter) => letter.sink === undefined,
    );
    copiesTally.records += diff.local;
    copiesTally.missing += diff.missing.length;
    copiesTally.stale += diff.stale.length;
    copiesTally.wronglyLive += diff.notDeleted.length + diff.extra.length;
    copiesTally.deadLetters += letters.length;
    const runs = (await store.listRuns({ stream: copy.name, limit: 100_000 })).reverse();
    copiesTally.regressions += checkpointRegressions(runs, differences, copy.name);
    for (const key of [...diff.missing, ...diff.stale, ...diff.notDeleted, ...diff.extra].slice(0, 2))
      differences.push(`${copy.name} ${key}: differs from the source`);
    for (const letter of letters.slice(0, 2))
      differences.push(`${copy.name} dead letter ${letter.key}: ${letter.reason}`);
  }
  return {
    run,
    streams: streams.length,
    runs,
    overlaps,
    abandonedOverlaps,
    leaseLost,
    abandoned,
    copies: copiesTally,
    differences,
  };
}

function endOf(r: RunRecord): number {
  return r.endedAt === null ? Number.POSITIVE_INFINITY : Date.parse(r.endedAt);
}

/** How many differences a workers check holds (its run's problems are the report's). */
export function workersBad(check: WorkerCheck): number {
  const c = check.copies;
  return (
    check.overlaps.length + c.missing + c.duplicated + c.stale + c.wronglyLive + c.deadLetters + c.regressions
  );
}

export function workersSummary(check: WorkerCheck): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const { run, copies } = check;
  const perWorker = run.workers.map((w) => w.runs);
  return (
    `workers: ${n(run.processes)} worker processes, ${n(run.kills)} SIGKILLed, ${n(run.terms)} SIGTERMed (slowest exit ${n(run.slowestTermMs)} ms), ` +
    `${n(check.streams)} streams, ${n(check.runs)} runs in all, ${n(perWorker.reduce((a, b) => a + b, 0))} started by the workers ` +
    `(per worker ${n(Math.min(...perWorker))} to ${n(Math.max(...perWorker))}); ` +
    `${n(check.overlaps.length)} overlapping writers (${n(check.abandonedOverlaps.length)} overlaps of a killed worker's run), ` +
    `${n(check.abandoned)} runs left open by killed workers, ` +
    `${n(check.leaseLost)} fencing refusals; ${n(run.samples)} queue samples: ${n(run.duplicateKeys.length)} duplicate job keys, ` +
    `${n(run.twoChains.length)} with two scheduled jobs waiting, ${n(run.twoLocked)} with two locked; ` +
    `${n(run.leftRegistered.length)} workers left registered; copies: ${n(copies.records)} records, ${n(copies.missing)} missing, ` +
    `${n(copies.duplicated)} duplicated, ${n(copies.stale)} stale, ${n(copies.wronglyLive)} wrongly live, ${n(copies.deadLetters)} dead letters, ${n(copies.regressions)} checkpoint regressions`
  );
}

async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  const timer = setTimeout(onTimeout, ms);
  try {
    return await promise;
  } finally {
    clearTimeout(timer);
  }
}

function tail(text: string): string {
  const line = text.trim().split('\n').filter(Boolean).at(-1) ?? '';
  try {
    return (JSON.parse(line) as { msg?: string }).msg ?? line;
  } catch {
    return line.slice(0, 300);
  }
}
