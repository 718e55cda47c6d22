import { compareCursorText, cursorTimeMs } from './cursor-time.ts';
import { readPath } from './field-path.ts';
import { scalarText } from './key-codec.ts';
import { compareTieBreaker, type TieBreakerType } from './tie-breaker.ts';

/**
 * The position of an incremental read: the cursor value and tie-breaker of the last record handed
 * over (ARCHITECTURE.md, semantics 2-4). A source keeps it in its checkpoint; the next pass asks
 * from it (less the lookback) and hands over only what lies after it. (A type, not an interface,
 * so TypeScript takes it as JSON inside a checkpoint.)
 */
export type Watermark = {
  /** The cursor value, as text (an ISO time, epoch digits, a number). */
  readonly cursor: string;
  /**
   * The tie-breaker's value, as text: the record's key, unless the source orders records with
   * equal cursor values by another field. Null when nothing is known inside this cursor value (the
   * safety lag capped the watermark there): a pass starts at `cursor` inclusive.
   */
  readonly id: string | null;
};

/**
 * `(cursor, id)` order, <0, 0 or >0: cursor values as times when both parse as times (epoch digits
 * included), else as text; then ids by `compareTieBreaker` (as numbers when both are decimal
 * numbers, else as text, unless `tieBreakerType` says which). A null id sorts before any id.
 */
export function compareWatermarks(a: Watermark, b: Watermark, tieBreakerType?: TieBreakerType): number {
  const byCursor = compareCursorText(a.cursor, b.cursor);
  if (byCursor !== 0) return byCursor;
  if (a.id === null || b.id === null) return a.id === b.id ? 0 : a.id === null ? -1 : 1;
  return compareTieBreaker(a.id, b.id, tieBreakerType);
}

/** How a stream reads incrementally. Durations in milliseconds. */
export interface WatermarkSettings {
  /** Dotted path of the cursor field in a record, e.g. `updated_at`. */
  readonly cursor: string;
  /** Dotted path of the tie-breaker, usually the key field (`id`). Default none: ids are null. */
  readonly tieBreaker?: string | null;
  /** How the source orders tie-breaker values. Default: as numbers when both are decimal numbers, else as text. */
  readonly tieBreakerType?: TieBreakerType;
  /**
   * Each pass starts this long before the watermark, so records that committed late at the source
   * behind it are read again (the hash makes unchanged ones free). Time cursors only. Default 0.
   */
  readonly lookbackMs?: number;
  /**
   * The watermark never moves past now minus this: rows still committing at the source land
   * behind it otherwise, unseen. Time cursors only. Default 0.
   */
  readonly safetyLagMs?: number;
  /** The current time, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * The watermark arithmetic every incremental source needs, once: read a record's position, start
 * a pass (lookback), drop what an API that filters only with `>=` sends again (ties), and move the
 * watermark forward (never past the safety lag). The HTTP source uses it; a custom source keeps
 * the `Watermark` in its checkpoint and asks the same questions.
 */
export class IncrementalWatermark {
  readonly #cursor: string;
  readonly #tieBreaker: string | null;
  readonly #type: TieBreakerType | undefined;
  readonly #lookbackMs: number;
  readonly #safetyLagMs: number;
  readonly #now: () => number;

  constructor(settings: WatermarkSettings) {
    this.#cursor = settings.cursor;
    this.#tieBreaker = settings.tieBreaker ?? null;
    this.#type = settings.tieBreakerType;
    this.#lookbackMs = settings.lookbackMs ?? 0;
    this.#safetyLagMs = settings.safetyLagMs ?? 0;
    this.#now = settings.now ?? Date.now;
  }

  /** A record's position, or null when it has no cursor value (it cannot move the watermark). */
  of(record: unknown): Watermark | null {
    const cursor = scalarText(readPath(record, this.#cursor));
    if (cursor === null) return null;
    const id = this.#tieBreaker === null ? null : scalarText(readPath(record, this.#tieBreaker));
    return { cursor, id };
  }

  /** `compareWatermarks` with this stream's tie-breaker order. */
  compare(a: Watermark, b: Watermark): number {
    return compareWatermarks(a, b, this.#type);
  }

  /**
   * Where a new pass starts: the watermark less the lookback (at that time inclusive, as an ISO
   * time), or with no lookback (or a cursor that is not a time) the watermark itself, to read
   * strictly after. Null (no watermark yet): from the beginning.
   */
  start(watermark: Watermark | null): Watermark | null {
    if (watermark === null) return null;
    const ms = cursorTimeMs(watermark.cursor);
    if (this.#lookbackMs > 0 && ms !== null) {
      return { cursor: new Date(ms - this.#lookbackMs).toISOString(), id: null };
    }
    return watermark;
  }

  /**
   * The records that lie strictly after `watermark`: an API that filters only `cursor >= since`
   * answers a pass started at the watermark with the records at its cursor value again, those up
   * to and including the watermark's id already handed over. Records without a cursor value
   * cannot be placed and are kept. All of them when `watermark` is null.
   */
  after<R>(records: readonly R[], watermark: Watermark | null): R[] {
    if (watermark === null) return [...records];
    return records.filter((record) => {
      const position = this.of(record);
      return position === null || this.compare(position, watermark) > 0;
    });
  }

  /**
   * The watermark once `records` are handed over: the newest of it and theirs, but never past now
   * minus the safety lag. A newer time is capped to that instant with a null id (the next pass
   * starts there inclusive); a watermark already past the cap (the lag was raised) stays.
   */
  advance(watermark: Watermark | null, records: Iterable<unknown>): Watermark | null {
    let newest = watermark;
    for (const record of records) {
      const position = this.of(record);
      if (position !== null && (newest === null || this.compare(position, newest) > 0)) newest = position;
    }
    if (newest === null || this.#safetyLagMs <= 0) return newest;
    const ms = cursorTimeMs(newest.cursor);
    const limit = this.#now() - this.#safetyLagMs;
    if (ms === null || ms <= limit) return newest;
    const capped: Watermark = { cursor: new Date(limit).toISOString(), id: null };
    return watermark !== null && this.compare(watermark, capped) > 0 ? watermark : capped;
  }
}
