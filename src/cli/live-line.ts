import type { SyncEvents } from '../core/events.ts';
import type { RunCounters, RunStatus } from '../core/types.ts';
import { formatCount, formatDuration } from './format-table.ts';
import type { TerminalStyle } from './terminal-style.ts';

/** What one stream's live line shows, as the run's events tell it. */
export interface LiveLineState {
  readonly stream: string;
  /** The run's counters so far; null before the first commit. */
  readonly totals: Partial<RunCounters> | null;
  readonly elapsedMs: number;
  /** Records the source expects to read (`run:estimated`); null when it did not say. */
  readonly expected: number | null;
  /** A retry or wait in progress (`retryNote`, `waitNote`); null when there is none. */
  readonly note: string | null;
  /** Set when the run has finished. */
  readonly status: Exclude<RunStatus, 'running'> | null;
}

/** What the symbols of a live line mean: printed once above the lines, and in `sync --help`. */
export const LIVE_LINE_LEGEND =
  '+ inserted  ~ updated  = unchanged  - deleted  ! failed (dead-lettered); records read/expected and ' +
  'an ETA when the source says how many; a retry or wait in progress at the end';

/** Longest note shown, so a long error message does not push the line off the terminal. */
const MAX_NOTE = 120;

/**
 * One stream's live line:
 * `customers | 12 pages | 1,200/5,000 records | 400/s | ETA 9.5 s | +1,000 ~150 =50 -0 !0  retry 2 of 7 in 1.3 s: 503 from api.example.com`.
 */
export function liveLine(state: LiveLineState, style: TerminalStyle): string {
  const t = state.totals ?? {};
  const n = (k: keyof RunCounters) => formatCount(t[k] ?? 0);
  const fetched = t.fetched ?? 0;
  const rate = state.elapsedMs > 0 ? (fetched * 1000) / state.elapsedMs : 0;
  const sep = style.muted('|');
  const parts = [
    style.strong(state.stream.padEnd(16)),
    `${n('pages')} pages`,
    `${n('fetched')}${state.expected === null ? '' : `/${formatCount(state.expected)}`} records`,
    `${formatCount(Math.round(rate))}/s`,
  ];
  if (state.status === null && state.expected !== null && state.expected > fetched && rate > 0) {
    parts.push(`ETA ${formatDuration(((state.expected - fetched) / rate) * 1000)}`);
  }
  const failed = t.failed ?? 0;
  parts.push(
    `+${n('inserted')} ~${n('updated')} =${n('unchanged')} -${n('deleted')} ` +
      (failed > 0 ? style.bad(`!${n('failed')}`) : `!${n('failed')}`),
  );
  let line = parts.join(` ${sep} `);
  if (state.status !== null) line += `  ${style.status(state.status)}`;
  else if (state.note !== null) line += `  ${style.warn(cut(state.note, MAX_NOTE))}`;
  return line;
}

/**
 * A retry in words: `waiting 12 s: 429 from api.example.com, Retry-After` when the wait is the one
 * the API asked for, else `retry 2 of 7 in 1.3 s: 503 from api.example.com` (retries allowed are the
 * attempts less the first try).
 */
export function retryNote(e: SyncEvents['request:retrying']): string {
  if (e.retryAfter) return `waiting ${formatDuration(e.delayMs)}: ${e.reason}, Retry-After`;
  return `retry ${e.attempt} of ${e.maxAttempts - 1} in ${formatDuration(e.delayMs)}: ${e.reason}`;
}

/** A wait for a rate limiter in words: `waiting 1.3 s: the rate limit of api.example.com (5 requests/s)`. */
export function waitNote(e: SyncEvents['rate:waiting']): string {
  return `waiting ${formatDuration(e.delayMs)}: ${e.reason}`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
