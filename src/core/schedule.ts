/**
 * When streams run under `syncline run`: the shape a config writes (`ScheduleSettings`) and the
 * shape it resolves to (`Schedule`). Both live in core because `config/` resolves them and
 * `runtime/` (the scheduler) and the service's other parts read them; neither may import the other.
 */

/**
 * A schedule as written in a config: every interval, or at cron times.
 *
 * - `{ every: '30s' }`: the next run is due `every` after the start of the last one (or when it
 *   ends, if it ran longer). `jitter` (default 10% of `every`, at most 5 s) adds a random delay up
 *   to that long, so streams with one interval do not all start in the same instant.
 * - `{ cron: '0 2 * * *', timezone: 'Europe/Paris' }`: 5 fields (minute precision) or 6 (seconds
 *   first); times in `timezone` (an IANA zone; default the process's local time). `jitter`
 *   defaults to none.
 *
 * Durations are milliseconds or strings such as `500ms`, `30s`, `15m`, `1h`, `7d`.
 */
export type ScheduleSettings =
  | { readonly every: string | number; readonly jitter?: string | number }
  | { readonly cron: string; readonly timezone?: string; readonly jitter?: string | number };

/** When a stream runs, resolved from the config (`schedule: { every } | { cron, timezone }`). */
export type Schedule =
  | { readonly kind: 'every'; readonly everyMs: number; readonly jitterMs: number }
  | {
      readonly kind: 'cron';
      readonly pattern: string;
      readonly timezone: string | null;
      readonly jitterMs: number;
    };

/** A stream's schedules: its syncs and its full refreshes (reconciliations); null = on demand only. */
export interface StreamSchedule {
  readonly stream: string;
  readonly sync: Schedule | null;
  readonly reconcile: Schedule | null;
}
