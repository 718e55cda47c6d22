import { FatalError } from '../core/errors.ts';

/**
 * Keeps a store's commits in the order they were handed over (`Store.commitPage`): each waits for
 * the one handed over before it, if that one is still unresolved, and is applied only if it
 * succeeded. A failure thus refuses every commit queued behind it, while a commit handed over
 * after it resolved starts afresh.
 */
export class CommitChain {
  #last: Promise<void> | null = null;

  /** Whether a commit is handed over and not resolved yet. */
  get busy(): boolean {
    return this.#last !== null;
  }

  /** Applies `apply` in turn; `stream` names the stream in the refusal. */
  run(stream: string, apply: () => Promise<void>): Promise<void> {
    const before = this.#last;
    const run =
      before === null
        ? apply()
        : before.then(apply, () => {
            throw new FatalError(
              `stream "${stream}": a commit was not applied because the one handed over before it failed`,
              { stream },
            );
          });
    this.#last = run;
    const clear = () => {
      if (this.#last === run) this.#last = null;
    };
    run.then(clear, clear);
    return run;
  }
}
