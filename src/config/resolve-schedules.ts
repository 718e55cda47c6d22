import { parseDuration } from '../core/cursor-time.ts';
import type { Schedule, ScheduleSettings, StreamSchedule } from '../core/schedule.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';

/** An `every` schedule's default jitter: this share of its interval... */
export const DEFAULT_JITTER_SHARE = 0.1;
/** ...at most this long: a daily stream need not wander by hours. */
export const MAX_DEFAULT_JITTER_MS = 5_000;

/**
 * A schedule as the scheduler takes it, from one as the config writes it (already validated by
 * `scheduleSchema`). Jitter spreads streams that share an interval so they do not all start in the
 * same instant: by default 10% of an `every` interval (at most 5 s); none for cron, whose times
 * are usually chosen on purpose.
 */
export function resolveSchedule(settings: ScheduleSettings): Schedule {
  if ('cron' in settings) {
    return {
      kind: 'cron',
      pattern: settings.cron,
      timezone: settings.timezone ?? null,
      jitterMs: settings.jitter === undefined ? 0 : parseDuration(settings.jitter),
    };
  }
  const everyMs = parseDuration(settings.every);
  return {
    kind: 'every',
    everyMs,
    jitterMs:
      settings.jitter === undefined
        ? Math.min(Math.round(everyMs * DEFAULT_JITTER_SHARE), MAX_DEFAULT_JITTER_MS)
        : parseDuration(settings.jitter),
  };
}

/**
 * Each stream's schedules, in the config's order: its syncs on its own `schedule`, else on the
 * service's default, else none (only when triggered); its reconciliations on `reconcile.schedule`,
 * else none (`reconcile.fullRefresh` still follows syncs, in the run itself).
 */
export function resolveStreamSchedules(
  streams: readonly AnyStreamDefinition[],
  fallback: ScheduleSettings | undefined,
): StreamSchedule[] {
  return streams.map((stream) => {
    const sync = stream.schedule ?? fallback;
    const reconcile = stream.reconcile?.schedule;
    return Object.freeze({
      stream: stream.name,
      sync: sync ? Object.freeze(resolveSchedule(sync)) : null,
      reconcile: reconcile ? Object.freeze(resolveSchedule(reconcile)) : null,
    });
  });
}
