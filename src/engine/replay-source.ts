import type { Page, StreamSource, Tombstone } from '../core/source.ts';
import type { DeadLetterStore } from '../core/store.ts';
import type { ReplayOrigins } from './page-preparer.ts';

/** A page of a replay: its records and tombstones, and the dead letter each was read from. */
export interface ReplayPage extends Page<unknown> {
  readonly origins: ReplayOrigins;
}

/** Letters read per page: replays are operator actions, small next to a sync. */
const LETTERS_PER_PAGE = 500;

/**
 * The source of a replay run (`syncline failed replay`): the stream's open dead letters (only
 * `ids` when given), oldest first, their stored payloads as the records (tombstone letters as
 * tombstones) of pages that carry the stream's checkpoint unchanged. Each letter is read once per
 * replay: one that fails again stays open and is not read again by this run.
 */
export function replaySource(store: DeadLetterStore, ids: readonly number[] | null): StreamSource<unknown> {
  return async function* replay(args) {
    let afterId = 0;
    for (;;) {
      const letters = await store.openDeadLetters({
        stream: args.stream,
        afterId,
        limit: LETTERS_PER_PAGE,
        ...(ids ? { ids } : {}),
      });
      if (letters.length === 0) return;
      const records: unknown[] = [];
      const tombstones: Tombstone[] = [];
      const origins = { records: [] as number[], tombstones: [] as number[] };
      for (const letter of letters) {
        afterId = letter.id;
        const payload = parsePayload(letter.payload);
        if (letter.tombstone) {
          tombstones.push(payload as Tombstone);
          origins.tombstones.push(letter.id);
        } else {
          records.push(payload);
          origins.records.push(letter.id);
        }
      }
      const page: ReplayPage = { records, tombstones, checkpoint: args.checkpoint, origins };
      yield page;
      if (letters.length < LETTERS_PER_PAGE) return;
    }
  };
}

/** The stored payload as it was received; text that is not JSON stays text (and fails again, saying so). */
function parsePayload(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}
