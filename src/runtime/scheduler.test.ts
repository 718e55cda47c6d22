import { describe, expect, it } from 'vitest';
import { InterruptedError, NotFoundError } from '../core/errors.ts';
import type { Schedule, StreamSchedule } from '../core/schedule.ts';
import type { Logger, RunMode, RunRequest } from '../core/types.ts';
import {
  type ScheduledRunOutcome,
  Scheduler,
  type SchedulerClock,
  type SchedulerOptions,
} from './scheduler.ts';
import type { RunOutcomeStatus } from './service-types.ts';

/** Lets promise callbacks (a run's end) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Time that moves only when told; timers fire in order of their due time. */
class FakeClock {
  time: number;
  #next = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  constructor(start = 0) {
    this.time = start;
  }
  now = () => this.time;
  setTimer = (fn: () => void, ms: number) => {
    const id = ++this.#next;
    this.#timers.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimer = (id: unknown) => {
    this.#timers.delete(id as number);
  };
  /** Moves time on by `ms`, firing every timer due on the way (and what the callbacks set off). */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await flush();
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const timer of this.#timers)
        if (timer[1].at <= target && (!first || timer[1].at < first[1].at)) first = timer;
      if (!first) break;
      this.#timers.delete(first[0]);
      this.time = Math.max(this.time, first[1].at);
      first[1].fn();
      await flush();
    }
    this.time = target;
    await flush();
  }
}

/** The scheduler's view of a fake clock, counting the timers it holds (it should hold one at most). */
function schedulerClock(clock: FakeClock): SchedulerClock & { live: Set<unknown> } {
  const live = new Set<unknown>();
  return {
    live,
    now: clock.now,
    setTimer: (fn, ms) => {
      const id: unknown = clock.setTimer(() => {
        live.delete(id);
        fn();
      }, ms);
      live.add(id);
      return id;
    },
    clearTimer: (id) => {
      live.delete(id);
      clock.clearTimer(id);
    },
  };
}

interface Call {
  readonly stream: string;
  readonly mode: RunMode;
  readonly at: number;
}

/**
 * A fake `run`: each run takes `duration(stream)` of fake time and ends as `outcome(stream, n)`
 * says (n counts that stream's runs from 1); it records starts and checks that no stream runs
 * twice at once, and how many run together.
 */
function fakeRuns(
  clock: FakeClock,
  options: {
    duration?: (stream: string) => number;
    outcome?: (stream: string, n: number) => RunOutcomeStatus | Error;
  } = {},
) {
  const calls: Call[] = [];
  const running = new Set<string>();
  const counts = new Map<string, number>();
  let maxTogether = 0;
  let overlaps = 0;
  const run = (stream: string, request: RunRequest): Promise<ScheduledRunOutcome> => {
    calls.push({ stream, mode: request.mode, at: clock.now() });
    if (running.has(stream)) overlaps++;
    running.add(stream);
    maxTogether = Math.max(maxTogether, running.size);
    const n = (counts.get(stream) ?? 0) + 1;
    counts.set(stream, n);
    return new Promise((resolve, reject) => {
      clock.setTimer(() => {
        running.delete(stream);
        const outcome = options.outcome?.(stream, n) ?? 'ok';
        if (outcome instanceof Error) reject(outcome);
        else resolve({ status: outcome, error: outcome === 'failed' ? 'boom' : null });
      }, options.duration?.(stream) ?? 100);
    });
  };
  return {
    run,
    calls,
    starts: (stream: string) => calls.filter((c) => c.stream === stream).map((c) => c.at),
    get maxTogether() {
      return maxTogether;
    },
    get overlaps() {
      return overlaps;
    },
  };
}

/** Stops the scheduler, letting fake time run until the runs in progress have ended. */
async function stop(scheduler: Scheduler, clock: FakeClock): Promise<void> {
  const stopped = scheduler.stop();
  await clock.advance(60_000);
  await stopped;
}

const every = (everyMs: number, jitterMs = 0): Schedule => ({ kind: 'every', everyMs, jitterMs });

function schedules(
  spec: Record<string, Schedule | null>,
  reconcile: Record<string, Schedule> = {},
): StreamSchedule[] {
  return Object.entries(spec).map(([stream, sync]) => ({
    stream,
    sync,
    reconcile: reconcile[stream] ?? null,
  }));
}

function build(
  clock: FakeClock,
  runs: { run: SchedulerOptions['run'] },
  options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'schedules'>,
) {
  const sclock = schedulerClock(clock);
  const scheduler = new Scheduler({
    concurrency: 4,
    run: runs.run,
    backoff: { baseMs: 5_000, maxMs: 20_000 },
    clock: sclock,
    random: () => 0,
    ...options,
  });
  return { scheduler, timers: sclock.live };
}

describe('Scheduler: every', () => {
  it('runs each stream at start and then every interval from the start of its last run, on one timer', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock);
    const { scheduler, timers } = build(clock, runs, {
      schedules: schedules({ a: every(1000), b: every(2500) }),
    });
    scheduler.start();
    for (let i = 0; i < 50; i++) {
      await clock.advance(100);
      expect(timers.size).toBeLessThanOrEqual(1);
    }
    expect(runs.starts('a')).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(runs.starts('b')).toEqual([0, 2500, 5000]);
    await stop(scheduler, clock);
  });

  it('starts the next run of a stream that overran its interval when it ends: no pile-up, never two at once', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 350 });
    const { scheduler } = build(clock, runs, { schedules: schedules({ a: every(100) }) });
    scheduler.start();
    await clock.advance(1500);
    expect(runs.starts('a')).toEqual([0, 350, 700, 1050, 1400]);
    expect(runs.overlaps).toBe(0);
    await stop(scheduler, clock);
  });

  it('adds jitter to the first and later due times', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 10 });
    const { scheduler } = build(clock, runs, {
      schedules: schedules({ a: every(1000, 200) }),
      random: () => 0.5,
    });
    scheduler.start();
    await clock.advance(2500);
    expect(runs.starts('a')).toEqual([100, 1200, 2300]);
    await stop(scheduler, clock);
  });

  it('leaves a stream without a schedule alone, and holds no timer when nothing is scheduled', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock);
    const { scheduler, timers } = build(clock, runs, { schedules: schedules({ a: null }) });
    scheduler.start();
    await clock.advance(10_000);
    expect(runs.calls).toEqual([]);
    expect(timers.size).toBe(0);
    expect(scheduler.status()[0]).toMatchObject({ state: 'idle', schedule: null, nextRunAt: null });
    await stop(scheduler, clock);
  });
});

describe('Scheduler: slots and order', () => {
  it('runs at most `concurrency` streams at once', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 300 });
    const { scheduler } = build(clock, runs, {
      schedules: schedules({
        a: every(1000),
        b: every(1000),
        c: every(1000),
        d: every(1000),
        e: every(1000),
      }),
      concurrency: 2,
    });
    scheduler.start();
    expect(scheduler.queueDepth()).toBe(3);
    expect(scheduler.status().map((s) => s.state)).toEqual([
      'running',
      'running',
      'queued',
      'queued',
      'queued',
    ]);
    await clock.advance(5000);
    expect(runs.maxTogether).toBe(2);
    expect(runs.calls.length).toBeGreaterThanOrEqual(10);
    await stop(scheduler, clock);
  });

  it('starts the most overdue stream first when slots are short', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: (s) => (s === 'b' ? 500 : 50) });
    const draws = [0.3, 0.1, 0.2];
    const { scheduler } = build(clock, runs, {
      schedules: schedules({ a: every(10_000, 1000), b: every(10_000, 1000), c: every(10_000, 1000) }),
      concurrency: 1,
      random: () => draws.shift() ?? 0,
    });
    scheduler.start(); // due: a at 300, b at 100, c at 200
    await clock.advance(1000);
    expect(runs.calls.map((c) => `${c.stream}@${c.at}`)).toEqual(['b@100', 'c@600', 'a@650']);
    await stop(scheduler, clock);
  });

  it('puts runs asked for by hand before scheduled ones, and behind the run in progress of their stream', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 100 });
    const { scheduler } = build(clock, runs, {
      schedules: schedules({ a: every(1000), b: every(1000), c: null }),
      concurrency: 1,
    });
    scheduler.start(); // a starts, b waits
    expect(scheduler.trigger('c', { mode: 'sync' })).toEqual({ state: 'queued', stream: 'c', mode: 'sync' });
    expect(scheduler.trigger('a', { mode: 'reconcile' })).toEqual({
      state: 'queued',
      stream: 'a',
      mode: 'reconcile',
    });
    // The same request twice waits once.
    expect(scheduler.trigger('a', { mode: 'reconcile' })).toMatchObject({ state: 'queued' });
    await clock.advance(500);
    expect(runs.calls.map((c) => `${c.stream}:${c.mode}@${c.at}`)).toEqual([
      'a:sync@0',
      'c:sync@100',
      'a:reconcile@200',
      'b:sync@300',
    ]);
    expect(scheduler.trigger('c', { mode: 'sync' })).toEqual({ state: 'started', stream: 'c', mode: 'sync' });
    await stop(scheduler, clock);
  });
});

describe('Scheduler: failures, pauses, reconciliations', () => {
  it('backs off a failing stream exponentially up to the maximum, and resets after a run that did not fail', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 0, outcome: (_s, n) => (n <= 4 ? 'failed' : 'ok') });
    const { scheduler } = build(clock, runs, { schedules: schedules({ a: every(1000) }) });
    scheduler.start();
    await clock.advance(0);
    expect(scheduler.status()[0]).toMatchObject({
      state: 'backing_off',
      consecutiveFailures: 1,
      backoffUntil: new Date(5000).toISOString(),
      nextRunAt: new Date(5000).toISOString(),
      lastOutcome: { status: 'failed', endedAt: new Date(0).toISOString(), error: 'boom' },
    });
    await clock.advance(60_000);
    // base 5 s, then 10 s, then 20 s (the maximum), 20 s; then every second again.
    expect(runs.starts('a').slice(0, 7)).toEqual([0, 5000, 15_000, 35_000, 55_000, 56_000, 57_000]);
    expect(scheduler.status()[0]).toMatchObject({
      state: 'idle',
      consecutiveFailures: 0,
      backoffUntil: null,
    });
    await stop(scheduler, clock);
  });

  it('runs a triggered stream at once whatever its backoff', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 0, outcome: (_s, n) => (n === 1 ? 'failed' : 'ok') });
    const { scheduler } = build(clock, runs, { schedules: schedules({ a: every(1000) }) });
    scheduler.start();
    await clock.advance(100);
    expect(scheduler.status()[0]?.state).toBe('backing_off');
    expect(scheduler.trigger('a', { mode: 'sync' }).state).toBe('started');
    await clock.advance(1000);
    expect(runs.starts('a')).toEqual([0, 100, 1000]);
    await stop(scheduler, clock);
  });

  it('counts neither busy nor interrupted runs as failures', async () => {
    const clock = new FakeClock();
    const statuses: RunOutcomeStatus[] = ['failed', 'busy', 'failed', 'interrupted', 'partial'];
    const runs = fakeRuns(clock, { duration: () => 0, outcome: (_s, n) => statuses[n - 1] ?? 'ok' });
    const { scheduler } = build(clock, runs, { schedules: schedules({ a: every(1000) }) });
    scheduler.start();
    await clock.advance(13_000);
    // failed: 5 s wait; busy resets; failed: 5 s again (not 10); interrupted and partial: every second.
    expect(runs.starts('a').slice(0, 6)).toEqual([0, 5000, 6000, 11_000, 12_000, 13_000]);
    await stop(scheduler, clock);
  });

  it('logs a run that rejects, counts it failed and goes on', async () => {
    const clock = new FakeClock();
    const errors: string[] = [];
    const log = {
      debug() {},
      info() {},
      warn() {},
      error: (_o: unknown, m?: string) => errors.push(m ?? ''),
    } as Logger;
    const runs = fakeRuns(clock, {
      duration: () => 0,
      outcome: (s, n) => (s === 'a' && n === 1 ? new TypeError('x is undefined') : 'ok'),
    });
    let thrown = 0;
    const { scheduler } = build(clock, runs, {
      schedules: schedules({ a: every(1000), b: every(1000) }),
      log,
      run: (stream, request) => {
        if (stream === 'b' && thrown++ === 0) throw new Error('synchronous bug');
        return runs.run(stream, request);
      },
    });
    scheduler.start();
    await clock.advance(5500);
    expect(errors).toEqual([
      expect.stringMatching(/the run of stream "b" threw .*: synchronous bug$/),
      expect.stringMatching(/the run of stream "a" threw .*: x is undefined$/),
    ]);
    expect(runs.starts('a')).toEqual([0, 5000]);
    expect(runs.starts('b')).toEqual([5000]);
    expect(scheduler.status()[0]?.consecutiveFailures).toBe(0);
    await stop(scheduler, clock);
  });

  it('pauses a stream the backfill breaker stopped until resumed or triggered; others go on', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, {
      duration: () => 0,
      outcome: (s, n) => (s === 'a' && n === 1 ? 'paused_backfill' : 'ok'),
    });
    const { scheduler } = build(clock, runs, { schedules: schedules({ a: every(1000), b: every(1000) }) });
    scheduler.start();
    await clock.advance(3500);
    expect(runs.starts('a')).toEqual([0]);
    expect(runs.starts('b')).toEqual([0, 1000, 2000, 3000]);
    expect(scheduler.status()[0]).toMatchObject({ state: 'paused', nextRunAt: null, consecutiveFailures: 0 });
    scheduler.resume('a'); // overdue: at once
    await clock.advance(1000);
    expect(runs.starts('a')).toEqual([0, 3500, 4500]);
    expect(() => scheduler.resume('nope')).toThrow(NotFoundError);
    await stop(scheduler, clock);
  });

  it('lifts a pause with a trigger', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, {
      duration: () => 0,
      outcome: (_s, n) => (n === 1 ? 'paused_backfill' : 'ok'),
    });
    const { scheduler } = build(clock, runs, { schedules: schedules({ a: every(1000) }) });
    scheduler.start();
    await clock.advance(2500);
    expect(scheduler.trigger('a', { mode: 'sync' }).state).toBe('started');
    await clock.advance(1000);
    expect(runs.starts('a')).toEqual([0, 2500, 3500]);
    await stop(scheduler, clock);
  });

  it('runs a reconciliation due with a sync instead of it; each schedule keeps its own due time', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 10 });
    const { scheduler } = build(clock, runs, {
      schedules: schedules({ a: every(1000) }, { a: every(3000) }),
    });
    scheduler.start();
    expect(scheduler.status()[0]).toMatchObject({
      schedule: 'every 1s',
      reconcileSchedule: 'every 3s',
      running: { mode: 'sync', startedAt: new Date(0).toISOString() },
    });
    await clock.advance(2500);
    expect(scheduler.status()[0]).toMatchObject({
      nextRunAt: new Date(3000).toISOString(),
      nextRunMode: 'reconcile',
    });
    await clock.advance(4000);
    expect(runs.calls.map((c) => `${c.mode}@${c.at}`)).toEqual([
      'sync@0',
      'sync@1000',
      'sync@2000',
      'reconcile@3000',
      'sync@4000',
      'sync@5000',
      'reconcile@6000',
    ]);
    expect(runs.overlaps).toBe(0);
    await stop(scheduler, clock);
  });
});

describe('Scheduler: cron', () => {
  it('waits for the next cron time at start, and after a run for the first cron time after its end', async () => {
    const start = Date.parse('2025-03-10T10:00:03.000Z');
    const clock = new FakeClock(start);
    const runs = fakeRuns(clock, { duration: (s) => (s === 'slow' ? 12_000 : 1000) });
    const cron: Schedule = { kind: 'cron', pattern: '*/10 * * * * *', timezone: 'UTC', jitterMs: 0 };
    const { scheduler } = build(clock, runs, { schedules: schedules({ quick: cron, slow: cron }) });
    scheduler.start();
    expect(runs.calls).toEqual([]);
    expect(scheduler.status()[0]).toMatchObject({
      state: 'idle',
      schedule: 'cron */10 * * * * * (UTC)',
      nextRunAt: '2025-03-10T10:00:10.000Z',
      nextRunMode: 'sync',
    });
    await clock.advance(45_000);
    const at = (s: string) => runs.starts(s).map((ms) => new Date(ms).toISOString().slice(14, 19));
    expect(at('quick')).toEqual(['00:10', '00:20', '00:30', '00:40']);
    expect(at('slow')).toEqual(['00:10', '00:30']); // ends at :22 and :42, misses :20 and :40
    await stop(scheduler, clock);
  });
});

describe('Scheduler: lifecycle', () => {
  it('refuses unknown streams, and triggers once stopping; stop waits for the runs in progress', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 300 });
    const { scheduler, timers } = build(clock, runs, {
      schedules: schedules({ a: every(1000), b: every(100) }),
    });
    expect(() => scheduler.trigger('nope', { mode: 'sync' })).toThrow(NotFoundError);
    expect(() => scheduler.trigger('nope', { mode: 'sync' })).toThrow(
      'no stream "nope" in the config; known: a, b',
    );
    expect(scheduler.running).toBe(false);
    scheduler.start();
    expect(scheduler.running).toBe(true);
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    expect(scheduler.running).toBe(false);
    expect(timers.size).toBe(0);
    expect(() => scheduler.trigger('a', { mode: 'sync' })).toThrow(InterruptedError);
    await clock.advance(200);
    expect(stopped).toBe(false);
    await clock.advance(200);
    await stopping;
    expect(stopped).toBe(true);
    await clock.advance(5000);
    expect(runs.calls.length).toBe(2);
    expect(timers.size).toBe(0);
  });

  it('calls onChange on starts, ends and requests', async () => {
    const clock = new FakeClock();
    const runs = fakeRuns(clock, { duration: () => 100 });
    let changes = 0;
    const { scheduler } = build(clock, runs, {
      schedules: schedules({ a: null }),
      onChange: () => {
        changes++;
      },
    });
    scheduler.start();
    const before = changes;
    scheduler.trigger('a', { mode: 'sync' });
    expect(changes).toBe(before + 1);
    await clock.advance(200);
    expect(changes).toBe(before + 2);
    await stop(scheduler, clock);
  });
});

describe('Scheduler with real timers', () => {
  const realRun = (ms: number) => {
    const counts = new Map<string, number>();
    const running = new Set<string>();
    let overlaps = 0;
    const run = async (stream: string): Promise<ScheduledRunOutcome> => {
      counts.set(stream, (counts.get(stream) ?? 0) + 1);
      if (running.has(stream)) overlaps++;
      running.add(stream);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running.delete(stream);
      return { status: 'ok', error: null };
    };
    return { run, counts, overlaps: () => overlaps };
  };

  it('keeps two streams on their intervals', async () => {
    const runs = realRun(50);
    const scheduler = new Scheduler({
      schedules: schedules({ fast: every(200), slow: every(500) }),
      concurrency: 4,
      run: runs.run,
      backoff: { baseMs: 5000, maxMs: 60_000 },
    });
    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 2200));
    await scheduler.stop();
    expect(runs.counts.get('fast')).toBeGreaterThanOrEqual(8);
    expect(runs.counts.get('fast')).toBeLessThanOrEqual(13);
    expect(runs.counts.get('slow')).toBeGreaterThanOrEqual(3);
    expect(runs.counts.get('slow')).toBeLessThanOrEqual(6);
  });

  it('never runs an overrunning stream twice at once', async () => {
    const runs = realRun(350);
    const scheduler = new Scheduler({
      schedules: schedules({ a: every(100) }),
      concurrency: 4,
      run: runs.run,
      backoff: { baseMs: 5000, maxMs: 60_000 },
    });
    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await scheduler.stop();
    expect(runs.overlaps()).toBe(0);
    expect(runs.counts.get('a')).toBeGreaterThanOrEqual(3);
    expect(runs.counts.get('a')).toBeLessThanOrEqual(6);
  });
});
