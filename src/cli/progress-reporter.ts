import { MultiBar, type SingleBar } from 'cli-progress';
import type { SyncEventBus } from '../core/events.ts';
import type { Logger, RunCounters } from '../core/types.ts';
import { formatCount, formatDuration } from './format-table.ts';

/**
 * Shows runs as they go. On a terminal: one live line per stream (pages, records/s,
 * inserted/updated/unchanged). Elsewhere: a log line per finished run and at most one progress line
 * per stream every `everyMs`.
 */
export function reportProgress(
  events: SyncEventBus,
  log: Logger,
  interactive: boolean,
  everyMs = 5000,
): () => void {
  const started = new Map<string, number>();
  const offs: (() => void)[] = [];
  const multibar = interactive
    ? new MultiBar({
        format:
          '{stream} | {pages} pages | {fetched} records | {rate}/s | +{inserted} ~{updated} ={unchanged} !{failed}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        noTTYOutput: false,
        stream: process.stderr,
      })
    : null;
  const bars = new Map<string, SingleBar>();
  const lastLog = new Map<string, number>();

  offs.push(
    events.on('run:started', ({ stream, runId, checkpoint }) => {
      started.set(stream, Date.now());
      if (multibar) bars.set(stream, multibar.create(1, 0, payload(stream, null, 0)));
      else log.info({ stream, runId, checkpoint }, 'run started');
    }),
    events.on('page:committed', ({ stream, totals }) => {
      const elapsed = Date.now() - (started.get(stream) ?? Date.now());
      if (multibar) {
        bars.get(stream)?.update(0, payload(stream, totals, elapsed));
        return;
      }
      const now = Date.now();
      if (now - (lastLog.get(stream) ?? 0) >= everyMs) {
        lastLog.set(stream, now);
        log.info({ stream, ...totals, recordsPerSecond: rate(totals.fetched, elapsed) }, 'progress');
      }
    }),
    events.on('lease:waiting', ({ stream, holder, expiresAt }) => {
      log.warn({ stream, holder, expiresAt }, 'waiting for another worker to finish the stream');
    }),
    events.on('run:finished', ({ stream, runId, status, totals, error, durationMs }) => {
      if (multibar) {
        bars.get(stream)?.update(0, payload(stream, totals, durationMs));
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
  return () => {
    for (const off of offs) off();
    multibar?.stop();
  };
}

/** What to say of a run's dead letters, and where to look. */
export function deadLettered(stream: string, failed: number): string {
  return (
    `${formatCount(failed)} record${failed === 1 ? ' was' : 's were'} dead-lettered: see \`syncline failed ${stream}\`, ` +
    'fix the config or the source, then `syncline failed replay`'
  );
}

function rate(fetched: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((fetched * 1000) / elapsedMs) : 0;
}

function payload(stream: string, totals: RunCounters | null, elapsedMs: number): Record<string, string> {
  const t: Partial<RunCounters> = totals ?? {};
  const n = (k: keyof RunCounters) => formatCount(t[k] ?? 0);
  return {
    stream: stream.padEnd(16),
    pages: n('pages'),
    fetched: n('fetched'),
    rate: formatCount(rate(t.fetched ?? 0, elapsedMs)),
    inserted: n('inserted'),
    updated: n('updated'),
    unchanged: n('unchanged'),
    failed: n('failed'),
    elapsed: formatDuration(elapsedMs),
  };
}
