import { readPath } from '../../core/field-path.ts';
import { scalarText } from '../../core/key-codec.ts';
import type { Page, Tombstone } from '../../core/source.ts';
import { compareWatermarks } from '../../core/watermark.ts';
import { formatCursorText } from './cursor-format.ts';
import { fetchPage } from './fetch-page.ts';
import { type FeedState, type HttpCheckpoint, toJson, withoutSecrets } from './http-checkpoint.ts';
import type { HttpRun } from './http-run.ts';
import type { FeedSettings } from './http-settings.ts';
import { requestUrl } from './request-url.ts';

/**
 * Reads the deleted-records feed from where the last run left it, one page of tombstones at a
 * time; each page's checkpoint keeps the list passes' part as `last` left it.
 */
export async function* readDeletedFeed(
  run: HttpRun,
  feed: FeedSettings,
  last: HttpCheckpoint,
): AsyncGenerator<Page<unknown>> {
  const { settings: s, auth } = run;
  const state: FeedState = last.deletes ?? { position: null, watermark: null };
  const paginator = feed.paginator();
  let watermark = state.watermark;
  let plan =
    state.position !== null
      ? paginator.resume(state.position)
      : paginator.first(
          watermark === null
            ? null
            : {
                cursor: watermark.cursor,
                param: formatCursorText(watermark.cursor, s.format),
                ...(watermark.id !== null ? { afterId: watermark.id } : {}),
              },
        );
  for (;;) {
    const url = requestUrl(s, plan, feed.base);
    const fetched = await fetchPage({ run, url, answer: { kind: 'entries', records: feed.records } });
    if (fetched === 'not-modified') return; // never: no validators are sent
    const step = paginator.next(fetched.page, plan);
    const tombstones: Tombstone[] = [];
    for (const entry of step.records) {
      const deletedAt = scalarText(readPath(entry, feed.deletedAt));
      tombstones.push({ key: entry, deletedAt });
      const id = scalarText(readPath(entry, feed.idField));
      if (deletedAt === null || id === null) continue;
      const tuple = { cursor: deletedAt, id };
      if (watermark === null || compareWatermarks(tuple, watermark) > 0) watermark = tuple;
    }
    const checkpoint: HttpCheckpoint = {
      ...last,
      deletes: { position: withoutSecrets(step.position, auth), watermark },
    };
    if (tombstones.length > 0 || JSON.stringify(checkpoint) !== JSON.stringify(last)) {
      yield { records: [], tombstones, checkpoint: toJson(checkpoint) };
      last = checkpoint;
    }
    if (step.next === null) return;
    plan = step.next;
  }
}
