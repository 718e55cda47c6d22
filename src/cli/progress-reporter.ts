import { MultiBar, type SingleBar } from 'cli-progress';
import type { SyncEventBus } from '../core/events.ts';
import type { Logger } from '../core/types.ts';
import { formatCount } from './format-table.ts';
import { LIVE_LINE_LEGEND, type LiveLineState, liveLine, retryNote, waitNote } from './live-line.ts';
import type { StderrLines } from './stderr-lines.ts';
import { TerminalStyle } from './terminal-style.ts';

export interface ProgressOptions {
  readonly log: Logger;
  /** One live line per stream on stderr (a terminal); otherwise log lines. */
  readonly interactive: boolean;
  /** Colours of the live lines. Default: none. */
  readonly style?: TerminalStyle;
  /**
   * The logger's human lines, which the live lines print above themselves while they are drawn
   * (a warning on SIGINT, debug request lines). Default: none to take over.
   */
  readonly lines?: StderrLines;
  /**
   * Off a terminal: the least time between two progress lines of a stream, and between two lines
   * about its retries (or its waits), so a retry storm does not flood the log. Default 5 s.
   */
  readonly everyMs?: number;
  /** The clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Shows runs as they go, observing only the engine's events, until the returned function is
 * called (once or more). On a terminal: the legend, then one live line per stream (pages, records
 * and the expected total, records/s, an ETA, what changed, and a retry or wait while it lasts,
 * cleared by the next commit), with the logger's lines printed above. Elsewhere: a log line per
 * finished run, at most one progress line per stream every `everyMs`, and retries (warn) and
 * rate-limit waits (info) as structured lines, at most one of each per stream every `everyMs`
 * (the next one counts those left out as `notLogged`).
 */
export function reportProgress(events: SyncEventBus, options: ProgressOptions): () => void {
  const { log, interactive } = options;
  const style = options.style ?? new TerminalStyle(false);
  const everyMs = options.everyMs ?? 5000;
  const now = options.now ?? Date.now;
  const offs: (() => void)[] = [];
  const states = new Map<string, LiveLineState & { startedAt: number }>();
  const multibar = interactive
    ? new MultiBar({
        format: (_options, _params, payload: { line?: string }) => payload.line ?? '',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        noTTYOutput: false,
        stream: WIDE_STDERR,
        // Redraw every line each time: a log line printed above them moves them all down a row,
        // and cli-progress redraws only the lines whose text changed.
        forceRedraw: true,
      })
    : null;
  let undivert: (() => void) | null = null;
  const bars = new Map<string, SingleBar>();
  const lastLog = new Map<string, number>();
  const notLogged = new Map<string, number>();

  /** Changes a stream's live line and redraws it (off a terminal: keeps what the progress lines say). */
  const redraw = (stream: string, change: Partial<LiveLineState>) => {
    const state = states.get(stream);
    if (!state) return;
    const next = { ...state, ...change, elapsedMs: now() - state.startedAt };
    states.set(stream, next);
    bars.get(stream)?.update(0, { line: liveLine(next, style) });
  };
  /**
   * Whether a log line of this kind (`<stream>:retry`...) may go now; counts those that may not,
   * and hands the count to the next one that may.
   */
  const mayLog = (key: string): { notLogged?: number } | null => {
    const at = now();
    if (lastLog.has(key) && at - lastLog.get(key)! < everyMs) {
      notLogged.set(key, (notLogged.get(key) ?? 0) + 1);
      return null;
    }
    lastLog.set(key, at);
    const skipped = notLogged.get(key) ?? 0;
    notLogged.delete(key);
    return skipped > 0 ? { notLogged: skipped } : {};
  };

  offs.push(
    events.on('run:started', ({ stream, runId, checkpoint }) => {
      const state = emptyState(stream, now());
      states.set(stream, state);
      if (!multibar) {
        log.info({ stream, runId, checkpoint }, 'run started');
        return;
      }
      if (bars.size === 0) {
        multibar.log(`${style.muted(LIVE_LINE_LEGEND)}\n`);
        undivert = options.lines?.divert((text) => multibar.log(text)) ?? null;
      }
      // A stream run twice (a sync, then the reconciliation it made due) gets a second line.
      bars.set(stream, multibar.create(1, 0, { line: liveLine(state, style) }));
    }),
    events.on('run:estimated', ({ stream, total }) => redraw(stream, { expected: total })),
    events.on('page:committed', ({ stream, runId, totals }) => {
      if (multibar) {
        redraw(stream, { totals, note: null });
        return;
      }
      if (mayLog(`${stream}:progress`) === null) return;
      const state = states.get(stream);
      const elapsed = now() - (state?.startedAt ?? now());
      log.info(
        {
          stream,
          runId,
          ...totals,
          recordsPerSecond: rate(totals.fetched, elapsed),
          ...(state?.expected != null ? { expected: state.expected } : {}),
        },
        'progress',
      );
    }),
    events.on('request:retrying', (e) => {
      if (multibar) return redraw(e.stream, { note: retryNote(e) });
      const allowed = mayLog(`${e.stream}:retry`);
      if (allowed) log.warn({ ...e, ...allowed }, retryNote(e));
    }),
    events.on('rate:waiting', (e) => {
      if (multibar) return redraw(e.stream, { note: waitNote(e) });
      const allowed = mayLog(`${e.stream}:wait`);
      if (allowed) log.info({ ...e, ...allowed }, waitNote(e));
    }),
    events.on('lease:waiting', ({ stream, holder, expiresAt }) => {
      log.warn({ stream, holder, expiresAt }, 'waiting for another worker to finish the stream');
    }),
    events.on('run:finished', ({ stream, runId, status, totals, error, durationMs }) => {
      if (multibar) {
        redraw(stream, { totals, status, note: null });
        return;
      }
      const fields = { stream, runId, status, durationMs, ...totals, ...(error ? { error } : {}) };
      if (totals.failed > 0)
        log.warn(
          fields,
          `run ${status === 'ok' ? 'finished' : status}; ${deadLettered(stream, totals.failed)}`,
        );
      else if (status === 'ok') log.info(fields, 'run finished');
      else log.warn(fields, `run ${status}`);
    }),
  );
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    for (const off of offs) off();
    if (multibar && bars.size > 0) {
      // Print the lines logged since the last redraw before the lines stop.
      multibar.update();
      undivert?.();
      multibar.stop();
    }
  };
}

/**
 * stderr as cli-progress sees it: a terminal wider than any line. cli-progress cuts the line it
 * draws last (when it stops) to the terminal's width counting colour codes as characters, which
 * cut the final status off; the terminal clips a long line itself, autowrap being off while the
 * lines are drawn. Only what cli-progress calls is here (readline's cursor functions write too).
 */
const WIDE_STDERR = {
  isTTY: true,
  columns: 100_000,
  write: (data: string, callback?: () => void) => process.stderr.write(data, callback),
} as unknown as NodeJS.WritableStream;

/** What to say of a run's dead letters, and where to look. */
export function deadLettered(stream: string, failed: number): string {
  return (
    `${formatCount(failed)} record${failed === 1 ? ' was' : 's were'} dead-lettered: see \`syncline failed ${stream}\`, ` +
    'fix the config or the source, then `syncline failed replay`'
  );
}

function emptyState(stream: string, startedAt: number): LiveLineState & { startedAt: number } {
  return { stream, totals: null, elapsedMs: 0, expected: null, note: null, status: null, startedAt };
}

function rate(fetched: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((fetched * 1000) / elapsedMs) : 0;
}
