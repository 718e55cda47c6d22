import { cursorTimeMs, parseDuration } from '../core/cursor-time.ts';
import { SyncError } from '../core/errors.ts';
import type { BackfillSettings } from '../core/stream-definition.ts';
import type { Json, RecordWrite } from '../core/types.ts';

/** The run stopped before a page the breaker judged a mass retroactive change. */
export class BackfillPausedError extends SyncError {
  readonly evidence: Json;
  constructor(stream: string, evidence: Json, why: string) {
    super(
      `stream "${stream}": paused before a suspected backfill (${why}); look at \`syncline runs ${stream} --json\` ` +
        `and run \`syncline approve ${stream}\` to let the next run apply it`,
      { stream },
    );
    this.evidence = evidence;
  }
}

export interface GuardContext {
  readonly stream: string;
  /** The stream's newest committed cursor value before this run. */
  readonly newestCursor: string | null;
  /** Changes (inserts + updates + deletes) of the stream's recent successful runs, newest first. */
  readonly recentChanges: readonly number[];
  /** An operator approved this run (`syncline approve`). */
  readonly approved: boolean;
}

/**
 * The backfill circuit breaker of one run. Each page's writes are checked before they commit:
 * changes to records older than the newest cursor by more than `maxAge`, or more changes in the run
 * than `volumeFactor` times the stream's baseline, trip it. Tripped in `pause` mode (and not
 * approved), the page is not committed and the run ends `paused_backfill` with the evidence;
 * in `auto` mode (or approved) the run goes on and the evidence is recorded.
 */
export class BackfillGuard {
  readonly #stream: string;
  readonly #pause: boolean;
  readonly #maxAgeMs: number;
  readonly #oldBefore: number | null;
  readonly #threshold: number | null;
  readonly #baseline: number;
  #changes = 0;
  #oldRecords = 0;
  #oldestCursor: string | null = null;
  #sample: string[] = [];
  #tripped: string | null = null;

  constructor(settings: BackfillSettings | 'pause' | 'auto' | undefined, context: GuardContext) {
    const s: BackfillSettings = typeof settings === 'string' ? { mode: settings } : (settings ?? {});
    this.#stream = context.stream;
    this.#pause = (s.mode ?? 'pause') === 'pause' && !context.approved;
    this.#maxAgeMs = parseDuration(s.maxAge ?? '30d');
    const newest = context.newestCursor === null ? null : cursorTimeMs(context.newestCursor);
    this.#oldBefore = newest === null ? null : newest - this.#maxAgeMs;
    // Without a history of successful runs there is no baseline: the first runs are not judged.
    this.#baseline = median(context.recentChanges.slice(0, 10));
    this.#threshold =
      context.recentChanges.length === 0
        ? null
        : (s.volumeFactor ?? 10) * Math.max(this.#baseline, s.minBaseline ?? 1000);
  }

  /** Checks a page's writes; throws `BackfillPausedError` to stop before committing them. */
  check(writes: readonly RecordWrite[]): void {
    let oldInPage = 0;
    for (const write of writes) {
      if (this.#oldBefore === null || write.cursor === null) continue;
      const at = cursorTimeMs(write.cursor);
      if (at === null || at >= this.#oldBefore) continue;
      oldInPage++;
      if (this.#oldestCursor === null || at < (cursorTimeMs(this.#oldestCursor) ?? at))
        this.#oldestCursor = write.cursor;
      if (this.#sample.length < 10) this.#sample.push(write.key);
    }
    const why =
      oldInPage > 0
        ? `${oldInPage} changes to records older than the newest cursor by more than ${Math.round(this.#maxAgeMs / 3_600_000)} h`
        : this.#threshold !== null && this.#changes + writes.length > this.#threshold
          ? `${this.#changes + writes.length} changes in one run, over ${this.#threshold} (the baseline ${this.#baseline} times the volume factor)`
          : null;
    if (why && this.#pause) {
      if (this.#sample.length === 0) this.#sample.push(...writes.slice(0, 10).map((w) => w.key));
      throw new BackfillPausedError(
        this.#stream,
        this.#evidence(why, this.#changes + writes.length, this.#oldRecords + oldInPage),
        why,
      );
    }
    this.#changes += writes.length;
    this.#oldRecords += oldInPage;
    if (why) this.#tripped ??= why;
  }

  /** What to record with the run when the breaker tripped but did not pause (auto or approved). */
  get evidence(): Json | null {
    return this.#tripped ? this.#evidence(this.#tripped, this.#changes, this.#oldRecords) : null;
  }

  #evidence(why: string, changes: number, oldRecords: number): Json {
    return {
      kind: 'backfill',
      reason: why,
      changes,
      baseline: this.#baseline,
      threshold: this.#threshold,
      oldRecords,
      oldestCursor: this.#oldestCursor,
      maxAgeMs: this.#maxAgeMs,
      sampleKeys: this.#sample,
    };
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
