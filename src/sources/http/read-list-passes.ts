import { FatalError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import { scalarText } from '../../core/key-codec.ts';
import type { Page } from '../../core/source.ts';
import type { TimeRange } from '../../core/types.ts';
import type { Watermark } from '../../core/watermark.ts';
import { compareCursorText, formatCursorText } from './cursor-format.ts';
import { fetchPage } from './fetch-page.ts';
import { type HttpCheckpoint, toJson, withoutSecrets } from './http-checkpoint.ts';
import type { HttpRun } from './http-run.ts';
import type { HttpSettings } from './http-settings.ts';
import type { PassStart } from './http-types.ts';
import { readNumber } from './paginators/pagination-signals.ts';
import { requestUrl } from './request-url.ts';

/**
 * The list passes of a run (of `range` only, in a backfill); returns the last checkpoint handed
 * over (or the stored one).
 */
export async function* readListPasses(
  run: HttpRun,
  range: TimeRange | null,
  stored: HttpCheckpoint,
): AsyncGenerator<Page<unknown>, HttpCheckpoint> {
  const { settings: s, args, auth } = run;
  let paginator = s.paginator();
  let watermark = stored.watermark;
  let validators = stored.validators;
  // An incremental run that resumes a pass a killed run left unfinished completes it, then makes one
  // fresh pass from the watermark (minus the lookback): records that changed behind the old pass's
  // position since it began are read in this run too, so a run that ends `ok` has seen the source as
  // it was when the run started. (A full-refresh stream's next run walks everything anyway; doing it
  // twice in one run would double its cost.)
  let resuming = stored.position !== null && s.incremental && range === null;
  let firstOfPass = stored.position === null;
  const start = range ? rangeStart(s, range) : passStart(s, watermark);
  let plan = firstOfPass ? paginator.first(start) : paginator.resume(stored.position!);
  let last: HttpCheckpoint = stored;
  for (;;) {
    const url = requestUrl(s, plan);
    const useValidators =
      firstOfPass && s.conditional !== false && validators?.url === url.href ? validators : null;
    if (useValidators && s.conditional === 'head') {
      if ((await fetchPage({ run, url, validators: useValidators, method: 'HEAD' })) === 'not-modified')
        return last;
    }
    const fetched = await fetchPage({ run, url, validators: useValidators });
    if (fetched === 'not-modified') return last; // the whole last pass is unchanged: nothing to read
    const total = readNumber(fetched.page.body, s.config.totalPath);
    if (total !== undefined && total >= 0) args.report({ total });
    let step = paginator.next(fetched.page, plan);
    // A range read ends at the first record past the range's end (passes go in cursor order).
    if (range && s.cursorField !== null) {
      const cursorField = s.cursorField;
      const end = range.to;
      const inside = step.records.filter((r) => {
        const cursor = scalarText(readPath(r, cursorField));
        return cursor === null || compareCursorText(cursor, end) < 0;
      });
      if (inside.length < step.records.length) step = { records: inside, next: null, position: null };
    }
    if (firstOfPass) validators = step.next === null && !s.keepsPosition ? fetched.validators : null;
    watermark = s.watermark ? s.watermark.advance(watermark, step.records) : watermark;
    const checkpoint: HttpCheckpoint = {
      v: 1,
      position: withoutSecrets(step.position, auth),
      watermark,
      validators: validators && withoutSecrets(validators, auth),
      ...(stored.deletes ? { deletes: stored.deletes } : {}),
    };
    // Rows flagged deleted are tombstones; a record after its own key's tombstone needs a page of
    // its own (tombstones apply after records). Such earlier pages keep the last checkpoint: a run
    // killed between them reads this answer again, and applying its rows again changes nothing.
    const batches = s.mapper.batches(step.records, fetched.page.deleted);
    for (const batch of batches.slice(0, -1)) yield { ...batch, checkpoint: toJson(last) };
    const { records, tombstones } = batches.at(-1)!;
    // An empty page that changes nothing need not be committed.
    if (step.records.length > 0 || JSON.stringify(checkpoint) !== JSON.stringify(last)) {
      yield { records, ...(tombstones.length > 0 ? { tombstones } : {}), checkpoint: toJson(checkpoint) };
      last = checkpoint;
    }
    if (step.next !== null) {
      plan = step.next;
      firstOfPass = false;
    } else if (resuming) {
      resuming = false;
      firstOfPass = true;
      paginator = s.paginator();
      plan = paginator.first(passStart(s, watermark));
    } else {
      return last;
    }
  }
}

/** Where a range read starts: at the range's start, inclusive, no lookback. */
function rangeStart(s: HttpSettings, range: TimeRange): PassStart {
  if (!s.incremental) {
    throw new FatalError(
      `stream "${s.stream}": pagination "${s.config.pagination.type}" cannot start at a time, so it cannot backfill ` +
        'a range; use `syncline reconcile` to read it all again',
      { stream: s.stream },
    );
  }
  return { cursor: range.from, param: formatCursorText(range.from, s.format) };
}

/** Where a new pass starts: the watermark minus the lookback, the configured start, or the beginning. */
function passStart(s: HttpSettings, watermark: Watermark | null): PassStart | null {
  if (s.watermark === null) return null;
  const from = s.watermark.start(watermark);
  if (from === null) {
    return s.start === null ? null : { cursor: s.start, param: formatCursorText(s.start, s.format) };
  }
  return {
    cursor: from.cursor,
    param: formatCursorText(from.cursor, s.format),
    ...(from.id !== null ? { afterId: from.id } : {}),
  };
}
