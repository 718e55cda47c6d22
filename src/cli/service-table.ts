import type { SyncEventBus } from '../core/events.ts';
import { lagMs } from '../runtime/lag.ts';
import type { ScheduledStreamStatus } from '../runtime/service-types.ts';
import { formatDuration, formatTable } from './format-table.ts';
import type { StderrLines } from './stderr-lines.ts';
import type { TerminalStyle } from './terminal-style.ts';

/** What the table knows of a stream beyond the scheduler: from the engine's events. */
export interface StreamLiveFacts {
  /** The newest cursor value committed (for lag). */
  newestCursor: string | null;
  /** Records/s of the run in progress, else of the last run. */
  recordsPerSecond: number | null;
  /** Since when the run in progress has been running (epoch ms). */
  runStartedAt: number | null;
}

/**
 * The table `syncline run` draws on a terminal: one row per stream with its state, how its last
 * run ended and when, when the next one is due, lag and records/s.
 */
export function serviceTable(
  statuses: readonly ScheduledStreamStatus[],
  facts: ReadonlyMap<string, StreamLiveFacts>,
  now: number,
  style: TerminalStyle,
): string {
  const rows = statuses.map((s) => {
    const f = facts.get(s.stream);
    const lag = lagMs(f?.newestCursor ?? null, now);
    const last = s.lastOutcome;
    return [
      s.stream,
      stateCell(s, style),
      last
        ? `${style.status(last.status)} ${style.muted(`${formatDuration(now - Date.parse(last.endedAt))} ago`)}`
        : style.muted('-'),
      nextCell(s, now, style),
      lag === null ? style.muted('-') : formatDuration(lag),
      f?.recordsPerSecond == null ? style.muted('-') : String(Math.round(f.recordsPerSecond)),
      last?.error && s.state !== 'running' ? style.bad(cut(last.error, 60)) : '',
    ];
  });
  return formatTable(['STREAM', 'STATE', 'LAST RUN', 'NEXT RUN', 'LAG', 'REC/S', 'ERROR'], rows);
}

function stateCell(s: ScheduledStreamStatus, style: TerminalStyle): string {
  switch (s.state) {
    case 'running':
      return style.ok(`running ${s.running?.mode ?? ''}`.trim());
    case 'backing_off':
      return style.warn(`backing off (${s.consecutiveFailures} failed)`);
    case 'paused':
      return style.warn('PAUSED: approve');
    case 'queued':
      return 'queued';
    default:
      return style.muted('idle');
  }
}

function nextCell(s: ScheduledStreamStatus, now: number, style: TerminalStyle): string {
  const at = s.backoffUntil ?? s.nextRunAt;
  if (s.state === 'paused') return style.muted('after approval');
  if (!at) return style.muted(s.schedule === null ? 'on demand' : '-');
  const ms = Date.parse(at) - now;
  const mode = s.nextRunMode && s.nextRunMode !== 'sync' ? ` ${s.nextRunMode}` : '';
  return ms <= 0 ? `due${mode}` : `in ${formatDuration(ms)}${mode}`;
}

function cut(text: string, max: number): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export interface LiveTableOptions {
  readonly events: SyncEventBus;
  readonly status: () => ScheduledStreamStatus[];
  readonly style: TerminalStyle;
  /** The logger's lines: printed above the table while it is drawn. */
  readonly lines: StderrLines;
  /** Seeds lag before the first commit (`StreamStatus.newestCursor` of the store). */
  readonly newestCursors?: ReadonlyMap<string, string | null>;
  /** Redraws at least this often (next-run countdowns). Default 1 s. */
  readonly everyMs?: number;
  readonly write?: (text: string) => void;
}

/**
 * Draws `serviceTable` at the bottom of the terminal and keeps it current from the engine's
 * events and a timer, the logger's lines printed above it. Returns `redraw` (the scheduler calls
 * it on a change) and `stop`, which leaves the last table on screen and gives the cursor back.
 */
export function drawLiveTable(options: LiveTableOptions): { redraw(): void; stop(): void } {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const facts = new Map<string, StreamLiveFacts>();
  const factsOf = (stream: string) => {
    let f = facts.get(stream);
    if (!f) {
      f = {
        newestCursor: options.newestCursors?.get(stream) ?? null,
        recordsPerSecond: null,
        runStartedAt: null,
      };
      facts.set(stream, f);
    }
    return f;
  };
  for (const [stream] of options.newestCursors ?? []) factsOf(stream);
  let drawn = 0;
  let stopped = false;
  const erase = () => {
    if (drawn > 0) write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    if (stopped) return;
    const text = serviceTable(options.status(), facts, Date.now(), options.style);
    erase();
    write(`${text}\n`);
    drawn = text.split('\n').length;
  };
  const offs = [
    options.events.on('run:started', ({ stream }) => {
      factsOf(stream).runStartedAt = Date.now();
    }),
    options.events.on('page:committed', (e) => {
      const f = factsOf(e.stream);
      const cursor = (e as { newestCursor?: string | null }).newestCursor;
      if (cursor != null) f.newestCursor = cursor;
      if (f.runStartedAt !== null) {
        f.recordsPerSecond = e.totals.fetched / Math.max(0.001, (Date.now() - f.runStartedAt) / 1000);
      }
    }),
    options.events.on('run:finished', ({ stream, totals, durationMs }) => {
      const f = factsOf(stream);
      f.runStartedAt = null;
      if (totals.fetched > 0) f.recordsPerSecond = totals.fetched / Math.max(0.001, durationMs / 1000);
    }),
  ];
  const undivert = options.lines.divert((text) => {
    erase();
    write(text);
    draw();
  });
  write('\x1b[?25l');
  const timer = setInterval(draw, options.everyMs ?? 1000);
  draw();
  return {
    redraw: draw,
    stop() {
      if (stopped) return;
      draw();
      stopped = true;
      clearInterval(timer);
      for (const off of offs) off();
      undivert();
      write('\x1b[?25h');
    },
  };
}
