import type { Page, SourceArgs, StreamSource } from '../core/source.ts';
import type { Checkpoint, Json, TimeRange } from '../core/types.ts';

/** The checkpoint of a range backfill: the range, the window in progress and the source's own position in it. */
export interface BackfillCheckpoint {
  readonly v: 1;
  readonly range: TimeRange;
  readonly windowMs: number;
  /** Start of the window in progress (ISO). */
  readonly windowFrom: string;
  /** The source's checkpoint inside that window; null at the window's start. */
  readonly source: Checkpoint;
}

/**
 * Reads `range` through `source` in windows of `windowMs`, one after another, each as a range read
 * (`args.request` is a backfill of that window). Every page carries a `BackfillCheckpoint`, and each finished window commits an
 * empty page that moves to the next, so a killed backfill resumes in the window where it stopped,
 * at the source's own position there. A stored checkpoint for another range is ignored (a new
 * backfill starts over).
 */
export function windowedSource(
  source: StreamSource<unknown>,
  range: TimeRange,
  windowMs: number,
): StreamSource<unknown> {
  return async function* (args: SourceArgs): AsyncGenerator<Page<unknown>> {
    const stored = readBackfillCheckpoint(args.checkpoint, range, windowMs);
    const end = Date.parse(range.to);
    let from = Date.parse(stored?.windowFrom ?? range.from);
    let inner: Checkpoint = stored?.source ?? null;
    while (from < end) {
      const to = Math.min(end, from + windowMs);
      const window: TimeRange = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
      const wrap = (checkpoint: Checkpoint, windowFrom: string): Json => ({
        v: 1,
        range: { ...range },
        windowMs,
        windowFrom,
        source: checkpoint,
      });
      const request = { mode: 'backfill', range: window, windowMs } as const;
      for await (const page of source({ ...args, checkpoint: inner, request })) {
        // The page as the source gave it (tombstones too: a feed's deleted rows), its checkpoint wrapped.
        yield { ...page, checkpoint: wrap(page.checkpoint, window.from) };
      }
      inner = null;
      from = to;
      yield { records: [], checkpoint: wrap(null, new Date(from).toISOString()) };
    }
  };
}

function readBackfillCheckpoint(
  checkpoint: Checkpoint,
  range: TimeRange,
  windowMs: number,
): BackfillCheckpoint | null {
  if (checkpoint === null || typeof checkpoint !== 'object' || Array.isArray(checkpoint)) return null;
  const c = checkpoint as unknown as BackfillCheckpoint;
  const same =
    c.v === 1 && c.range?.from === range.from && c.range?.to === range.to && c.windowMs === windowMs;
  return same ? c : null;
}
