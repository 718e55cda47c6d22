import { hashText } from './canonical-json.ts';
import type { DeadLetter } from './types.ts';

/** Dead letters of one commit as a store writes them: one per (key, payload), counted. */
export interface FoldedDeadLetters {
  /** New occurrences, one per fingerprint in first-seen order, the last reason of each. */
  readonly fresh: readonly {
    readonly key: string | null;
    readonly reason: string;
    readonly payload: string;
    readonly tombstone: boolean;
    /** Identifies (key, payload) within a stream: an open letter with it gets the occurrences. */
    readonly fingerprint: string;
    readonly occurrences: number;
  }[];
  /** Stored letters a replay read whose records failed again: their new reason and count. */
  readonly replays: readonly { readonly id: number; readonly reason: string; readonly occurrences: number }[];
}

/**
 * What a commit's dead letters add to `syncline_failed` (both stores): the same record failing
 * twice in one commit is one letter with two occurrences, since a store upserts each fingerprint
 * once per statement.
 */
export function foldDeadLetters(letters: readonly DeadLetter[]): FoldedDeadLetters {
  const fresh = new Map<
    string,
    { key: string | null; reason: string; payload: string; tombstone: boolean; occurrences: number }
  >();
  const replays = new Map<number, { reason: string; occurrences: number }>();
  for (const letter of letters) {
    if (letter.replayOf !== undefined) {
      const seen = replays.get(letter.replayOf);
      replays.set(letter.replayOf, { reason: letter.reason, occurrences: (seen?.occurrences ?? 0) + 1 });
      continue;
    }
    const fingerprint = deadLetterFingerprint(letter.key, letter.payload);
    const seen = fresh.get(fingerprint);
    fresh.set(fingerprint, {
      key: letter.key,
      reason: letter.reason,
      payload: letter.payload,
      tombstone: letter.tombstone === true,
      occurrences: (seen?.occurrences ?? 0) + 1,
    });
  }
  return {
    fresh: [...fresh].map(([fingerprint, letter]) => ({ ...letter, fingerprint })),
    replays: [...replays].map(([id, replay]) => ({ id, ...replay })),
  };
}

/** The hash of a letter's key and payload (the stream is a column of its own). */
export function deadLetterFingerprint(key: string | null, payload: string): string {
  return hashText(`${key === null ? '\u0000' : `k${key}`}\u0000${payload}`);
}
