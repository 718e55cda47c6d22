import { Cron } from 'croner';
import { CRON_MODE } from '../config/config-schema.ts';
import type { Schedule } from '../core/schedule.ts';

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
