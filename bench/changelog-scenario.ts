import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { openStore } from '../src/runtime/open-store.ts';
import { BenchError } from './bench-error.ts';
import type { Sizes } from './bench-options.ts';
import type { ChangelogChildArgs, ChangelogChildResult } from './changelog-child.ts';
import { BenchChild } from './child-process.ts';
import { int, rate } from './format.ts';
import type { Locations } from './locations.ts';

/**
 * The changelog section (scale-out: many `syncline run` workers on one PostgreSQL store): 1, 2 and
 * 4 writer processes (`changelog-child.ts`) on ONE store schema, each committing small pages to a
 * stream of its own for the same window, all started at once. Every commit appends to the schema's
 * one change log, whose order must stay the order of commits (postgres-page-commit.ts, step 4): if
 * that ordering serialises the commits of different streams, commits/s stop growing with writers.
 * While they run, the bench samples how many backends of the database wait on a lock (any lock: the
 * change log's ordering shows up there if it makes writers queue) and how busy the machine's cores
 * are (more writers than cores gain nothing whatever the store does).
 */

export const CHANGELOG_WRITERS = [1, 2, 4] as const;
const PAGE_SIZE = 20;
/** How often the lock waits and the CPU are sampled while the writers run. */
const SAMPLE_MS = 50;
const IDLE_SAMPLE_MS = 500;

export interface ChangelogRun {
  readonly writers: number;
  readonly commits: number;
  readonly records: number;
  /** The window: from `go` to the last writer's last counted commit. */
  readonly ms: number;
  /** Mean number of the database's backends waiting on a lock, over the samples. */
  readonly lockWaiting: number;
  /** Share of the machine's cores busy over the window (all processes, the server's too). */
  readonly cpuBusy: number;
  /** The same over `IDLE_SAMPLE_MS` just before, every writer ready and idle: other work on the machine. */
  readonly cpuBusyBefore: number;
  /** CPU seconds of the writer processes together. */
  readonly writerCpuSeconds: number;
}

export interface ChangelogScenario {
  readonly pageSize: number;
  readonly durationMs: number;
  readonly cores: number;
  readonly runs: readonly ChangelogRun[];
}

/** 5 s per round at full size, 1 s at small sizes (`--size tiny`). */
export function changelogShape(sizes: Sizes) {
  const full = sizes.records >= 100_000;
  return { pageSize: PAGE_SIZE, durationMs: full ? 5000 : 1000, warmupPages: full ? 50 : 10 };
}

export async function runChangelogScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<ChangelogScenario> {
  const shape = changelogShape(sizes);
  const runs: ChangelogRun[] = [];
  for (const writers of CHANGELOG_WRITERS) {
    const run = await runRound(locations, writers, shape);
    log(
      `changelog: ${writers} writer(s): ${int(rate(run.commits, run.ms))} commits/s, ` +
        `${int(rate(run.records, run.ms))} records/s, ${run.lockWaiting.toFixed(2)} backends waiting on a lock, ` +
        `CPU ${(run.cpuBusy * 100).toFixed(0)}% busy (${(run.cpuBusyBefore * 100).toFixed(0)}% before)`,
    );
    runs.push(run);
  }
  return { pageSize: shape.pageSize, durationMs: shape.durationMs, cores: cpus().length, runs };
}

async function runRound(
  locations: Locations,
  writers: number,
  shape: ReturnType<typeof changelogShape>,
): Promise<ChangelogRun> {
  const location = await locations.fresh('postgres');
  const children: BenchChild[] = [];
  const sampler = new pg.Client({ connectionString: location.pg!.url });
  try {
    // Migrated here, once, so no writer's start-up waits on another's migration.
    await (await openStore(location.location)).close();
    for (let i = 0; i < writers; i++) {
      const args: ChangelogChildArgs = {
        store: location.location,
        stream: `writer_${i + 1}`,
        pageSize: shape.pageSize,
        warmupPages: shape.warmupPages,
        durationMs: shape.durationMs,
      };
      children.push(new BenchChild('changelog-child.ts', args, `changelog ${writers}/${i + 1}`));
    }
    for (const child of children) {
      const line = await child.nextLine();
      if (!line.includes('"ready"')) throw new BenchError(`${child.label}: expected ready, got ${line}`);
    }
    await sampler.connect();
    // What else the machine is doing (other processes skew every figure here): its CPU over a
    // moment with every writer ready and idle.
    const idleFrom = cpuTimes();
    await sleep(IDLE_SAMPLE_MS);
    const busyBefore = busyBetween(idleFrom, cpuTimes());
    const cpuBefore = cpuTimes();
    let samples = 0;
    let waiting = 0;
    let done = false;
    const sampling = (async () => {
      while (!done) {
        const { rows } = await sampler.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        samples++;
        waiting += rows[0]!.n;
        await sleep(SAMPLE_MS);
      }
    })();
    for (const child of children) child.process.stdin!.write('go\n');
    let results: ChangelogChildResult[];
    try {
      results = await Promise.all(children.map((c) => c.result<ChangelogChildResult>()));
    } finally {
      done = true;
      await sampling;
    }
    const cpuAfter = cpuTimes();
    const sum = (f: (r: ChangelogChildResult) => number) => results.reduce((n, r) => n + f(r), 0);
    return {
      writers,
      commits: sum((r) => r.commits),
      records: sum((r) => r.records),
      ms: Math.max(...results.map((r) => r.ms)),
      lockWaiting: samples > 0 ? waiting / samples : 0,
      cpuBusy: busyBetween(cpuBefore, cpuAfter),
      cpuBusyBefore: busyBefore,
      writerCpuSeconds: sum((r) => r.cpuSeconds),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await sampler.end().catch(() => undefined);
    await locations.drop(location);
  }
}

/** The share of the machine's CPU time that was busy between two readings. */
function busyBetween(from: { idle: number; total: number }, to: { idle: number; total: number }): number {
  return to.total > from.total ? 1 - (to.idle - from.idle) / (to.total - from.total) : 0;
}

/** The machine's CPU time so far, idle and in all, summed over its cores (ms). */
function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

/** The section of RESULTS.md. */
export function changelogSection(c: ChangelogScenario | null): string[] {
  if (!c) return [];
  const base = c.runs.find((r) => r.writers === 1);
  const baseRate = base ? rate(base.commits, base.ms) : 0;
  return [
    '## Change log under concurrent writers',
    '',
    `1, 2 and 4 writer processes on one PostgreSQL store schema, each committing pages of ${c.pageSize} new ` +
      `records (one change-log row each) to a stream of its own through \`Store.commitPage\`, for ` +
      `${c.durationMs / 1000} s, all started at once after a warm-up. Every commit appends to the one change log, ` +
      "whose order must be the order of commits. *Waiting on a lock*: mean number of the database's backends " +
      `waiting on any lock, sampled every ${SAMPLE_MS} ms. *CPU busy*: all ${c.cores} cores of the machine, the ` +
      `server's backends included; *before*: the same over ${IDLE_SAMPLE_MS} ms just before, the writers ready and idle ` +
      `(other work on the machine)${c.cores <= 2 ? `. With ${c.cores} cores, writers past ${c.cores} share them and cannot add throughput` : ''}.`,
    '',
    '| writers | page commits | commits/s | records/s | vs 1 writer | waiting on a lock | CPU busy | CPU busy before | writer CPU s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...c.runs.map((r) => {
      const perSecond = rate(r.commits, r.ms);
      return `| ${r.writers} | ${int(r.commits)} | ${int(perSecond)} | ${int(rate(r.records, r.ms))} | ${baseRate > 0 ? (perSecond / baseRate).toFixed(2) : ''}x | ${r.lockWaiting.toFixed(2)} | ${(r.cpuBusy * 100).toFixed(0)}% | ${(r.cpuBusyBefore * 100).toFixed(0)}% | ${r.writerCpuSeconds.toFixed(1)} |`;
    }),
    '',
  ];
}
