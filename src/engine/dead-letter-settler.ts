import type { DeadLetterResolution, DeadLetterStore } from '../core/store.ts';
import type { DeadLetter } from '../core/types.ts';
import type { PreparedPage } from './page-preparer.ts';

/**
 * Keys of open dead letters a run keeps in memory, to resolve only those when they commit. A stream
 * with more sends every key it commits (the store looks each up in an index of open letters).
 */
const MAX_TRACKED_LETTER_KEYS = 50_000;

/**
 * Decides, commit by commit, which dead letters a commit writes and which open ones it settles
 * (`PageCommit.resolve`): a run starts knowing the keys of the stream's open letters, and a commit
 * that applies one of those keys without fault resolves its letter in the same transaction.
 */
export class DeadLetterSettler {
  /**
   * Keys with open dead letters, which a commit of the key resolves; null when there are too many
   * to keep (every committed key is then sent).
   */
  readonly #letterKeys: Set<string> | null;

  private constructor(letterKeys: Set<string> | null) {
    this.#letterKeys = letterKeys;
  }

  /** Reads the keys of the stream's open letters (up to `MAX_TRACKED_LETTER_KEYS`). */
  static async open(store: DeadLetterStore, stream: string): Promise<DeadLetterSettler> {
    const keys = await store.openDeadLetterKeys(stream, MAX_TRACKED_LETTER_KEYS);
    return new DeadLetterSettler(keys === null ? null : new Set(keys));
  }

  /**
   * Whether a commit of `page` must collect the keys it applied without fault: only when some of
   * them may have open letters (or the page replays letters), so a stream without open letters
   * collects nothing.
   */
  collectsApplied(page: PreparedPage): boolean {
    return this.#letterKeys === null || this.#letterKeys.size > 0 || page.replayed.length > 0;
  }

  /**
   * The dead letters a commit writes (the page's, and the regressions classification kept out) and
   * the open ones it settles: letters of keys it applied (`applied`) and, in a replay, the letters
   * whose records it applied. A key or letter the same commit dead-letters again is not settled.
   */
  settle(
    page: PreparedPage,
    regressions: readonly DeadLetter[],
    applied: readonly string[] | undefined,
  ): { letters: readonly DeadLetter[]; resolve: DeadLetterResolution | null } {
    let letters: readonly DeadLetter[] = page.deadLetters;
    let replayed = page.replayed;
    if (regressions.length > 0) {
      // In a replay, a regression is the replayed letter's record failing again.
      const origin = new Map(replayed.map((r) => [r.key, r.id]));
      const again = regressions.map((letter) => {
        const id = letter.key === null ? undefined : origin.get(letter.key);
        return id === undefined ? letter : { ...letter, replayOf: id };
      });
      const failedAgain = new Set(again.map((l) => l.replayOf));
      replayed = replayed.filter((r) => !failedAgain.has(r.id));
      letters = [...letters, ...again];
    }
    const known = this.#letterKeys;
    if (known) for (const letter of letters) if (letter.key !== null) known.add(letter.key);
    if (!applied) return { letters, resolve: null };
    const failing = new Set(letters.map((l) => l.key));
    const keys = applied.filter((key) => !failing.has(key) && (known === null || known.has(key)));
    if (known) for (const key of keys) known.delete(key);
    if (keys.length === 0 && replayed.length === 0) return { letters, resolve: null };
    return { letters, resolve: { keys, replayed: replayed.map((r) => r.id) } };
  }
}
