import { Cron } from 'croner';
import { CRON_MODE } from '../config/config-schema.ts';
import type { Schedule, StreamSchedule } from '../core/schedule.ts';

/** `every 30s`, `every 30s ±3s`, `cron 0 2 * * * (Europe/Paris)`: a schedule in a few words. */
export function describeSchedule(s: Schedule): string {
  const jitter = s.jitterMs > 0 ? ` ±${formatMs(s.jitterMs)}` : '';
  if (s.kind === 'every') return `every ${formatMs(s.everyMs)}${jitter}`;
  return `cron ${s.pattern}${s.timezone ? ` (${s.timezone})` : ''}${jitter}`;
}

/**
 * When a schedule is next due after `afterMs` (epoch ms): `afterMs + every`, or the next cron time
 * after it; plus `random() * jitter`. `Infinity` for a cron pattern with no time left (a date that
 * never comes again), which the scheduler treats as never.
 */
export function nextDue(schedule: Schedule, afterMs: number, random: () => number): number {
  const jitter = schedule.jitterMs > 0 ? Math.floor(random() * schedule.jitterMs) : 0;
  if (schedule.kind === 'every') return afterMs + schedule.everyMs + jitter;
  const next = cronOf(schedule).nextRun(new Date(afterMs));
  return next === null ? Number.POSITIVE_INFINITY : next.getTime() + jitter;
}

/**
 * When a stream's scheduled runs are next due (epoch ms; null: not at all). Both schedulers (the
 * in-process one and the cluster's job queue) move them with the functions below, so a stream
 * keeps one rhythm whichever runs it.
 */
export interface DueTimes {
  readonly syncDue: number | null;
  readonly reconcileDue: number | null;
}

/**
 * At start: an `every` sync is due at once (plus jitter); a cron sync at its next time; a
 * reconciliation one step of its schedule ahead (a full scan at every restart would be costly).
 */
export function firstDueTimes(schedule: StreamSchedule, now: number, random: () => number): DueTimes {
  const { sync, reconcile } = schedule;
  return {
    syncDue: sync
      ? sync.kind === 'every'
        ? now + Math.floor(random() * sync.jitterMs)
        : finite(nextDue(sync, now, random))
      : null,
    reconcileDue: reconcile ? finite(nextDue(reconcile, now, random)) : null,
  };
}

/** What a scheduled run starting at `at` does: a reconciliation when one is due, else a sync. */
export function scheduledMode(due: DueTimes, at: number): 'sync' | 'reconcile' {
  return due.reconcileDue !== null && due.reconcileDue <= at ? 'reconcile' : 'sync';
}

/** The earliest due time, null when none; not before `notBefore` (a backoff) when given. */
export function nextScheduledAt(due: DueTimes, notBefore: number | null = null): number | null {
  const at = Math.min(due.syncDue ?? Infinity, due.reconcileDue ?? Infinity);
  if (at === Infinity) return null;
  return notBefore === null ? at : Math.max(at, notBefore);
}

/** Which due times a run stands for: a sync covers a due sync; a reconciliation also a due reconciliation. */
export interface Covered {
  readonly sync: boolean;
  readonly reconcile: boolean;
}

/**
 * A run of `mode` starts at `now`: the due times it stands for move one step past `now`, and its
 * end may move them again (`dueAfterEnd`).
 */
export function coverDue(
  schedule: StreamSchedule,
  due: DueTimes,
  mode: string,
  now: number,
  random: () => number,
): { readonly due: DueTimes; readonly covered: Covered } {
  const { sync, reconcile } = schedule;
  const isDue = (at: number | null) => at !== null && at <= now;
  const coversSync = (mode === 'sync' || mode === 'reconcile') && isDue(due.syncDue);
  const coversReconcile = mode === 'reconcile' && isDue(due.reconcileDue);
  return {
    due: {
      syncDue: coversSync && sync ? finite(nextDue(sync, now, random)) : due.syncDue,
      reconcileDue: coversReconcile && reconcile ? finite(nextDue(reconcile, now, random)) : due.reconcileDue,
    },
    covered: { sync: coversSync, reconcile: coversReconcile },
  };
}

/**
 * A run ended at `end`: a due time it stood for that is not past `end` moves past it, `every` to
 * the end, cron to its next time; a run that overran its interval is followed when it ends, not at
 * once again and again.
 */
export function dueAfterEnd(
  schedule: StreamSchedule,
  due: DueTimes,
  covered: Covered,
  end: number,
  random: () => number,
): DueTimes {
  const after = (s: Schedule, at: number | null) => {
    if (at === null || at > end) return at;
    return s.kind === 'every' ? end : finite(nextDue(s, end, random));
  };
  return {
    syncDue: covered.sync && schedule.sync ? after(schedule.sync, due.syncDue) : due.syncDue,
    reconcileDue:
      covered.reconcile && schedule.reconcile
        ? after(schedule.reconcile, due.reconcileDue)
        : due.reconcileDue,
  };
}

/** After `failures` failed runs in a row: `min(max, base * 2^(failures - 1))`, less up to a tenth at random. */
export function backoffDelay(
  failures: number,
  backoff: { readonly baseMs: number; readonly maxMs: number },
  random: () => number,
): number {
  const delay = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (failures - 1));
  return Math.round(delay * (1 - 0.1 * random()));
}

function finite(ms: number): number | null {
  return Number.isFinite(ms) ? ms : null;
}

/**
 * One paused croner job per pattern and zone, parsed once: `nextRun` is all the scheduler asks of
 * it (croner's own timers would be one per stream; the scheduler keeps one for all).
 */
const crons = new Map<string, Cron>();

function cronOf(schedule: Extract<Schedule, { kind: 'cron' }>): Cron {
  const id = `${schedule.timezone ?? ''}\n${schedule.pattern}`;
  let cron = crons.get(id);
  if (!cron) {
    cron = new Cron(schedule.pattern, {
      paused: true,
      mode: CRON_MODE,
      ...(schedule.timezone ? { timezone: schedule.timezone } : {}),
    });
    crons.set(id, cron);
  }
  return cron;
}

/** `500ms`, `30s`, `15m`, `1h30m`, `2d`: the largest units that say it exactly. */
export function formatMs(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text;
}
