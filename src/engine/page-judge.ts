import { FatalError } from '../core/errors.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import type { Logger } from '../core/types.ts';
import { type PreparedPage, sharedFailure } from './page-preparer.ts';

/**
 * Looks at each page a run read before it is queued for commit, and says what the run should
 * report about the pages as a whole.
 */
export class PageJudge {
  readonly #stream: AnyStreamDefinition;
  readonly #log: Logger;
  /** Stop at a page whose every record failed the same way (`RunModeEntry.judgesPages`). */
  readonly #judgesFailures: boolean;
  /** Records read with and without a value in the stream's cursor field. */
  #withCursor = 0;
  #withoutCursor = 0;

  constructor(args: {
    readonly stream: AnyStreamDefinition;
    readonly log: Logger;
    readonly judgesFailures: boolean;
  }) {
    this.#stream = args.stream;
    this.#log = args.log;
    this.#judgesFailures = args.judgesFailures;
  }

  /**
   * Stops the run at a page whose every record failed the same way (a wrong `key`, a schema that
   * does not fit): its dead letters would otherwise be committed with its checkpoint, and an
   * incremental stream would never read those records again. Warns, once, about a page whose
   * records all lack the stream's cursor field.
   */
  judge(page: PreparedPage): void {
    const stream = this.#stream;
    if (this.#judgesFailures) {
      const shared = sharedFailure(page);
      if (shared !== null) {
        const how = shared.count === page.fetched ? 'the same way' : `${shared.count} of them the same way`;
        throw new FatalError(
          `stream "${stream.name}": every record of a page (${page.fetched}) failed, ${how}: ${shared.reason}; ` +
            "the page was not committed and the checkpoint stays where it was. Fix the stream's key or schema " +
            'and run again (records dead-lettered by earlier runs: `syncline failed replay`)',
          { stream: stream.name },
        );
      }
    }
    if (page.withoutCursor > 0 && this.#withoutCursor === 0 && page.withoutCursor === page.records.length) {
      this.#log.warn(
        { stream: stream.name, cursor: stream.cursor, records: page.withoutCursor },
        'the cursor field is missing from every record of a page: incremental reads cannot move past them',
      );
    }
    this.#withoutCursor += page.withoutCursor;
    this.#withCursor += page.records.length - page.withoutCursor;
  }

  /** What the run should say beside its counters (kept in its evidence, shown by `syncline status`). */
  warnings(): string[] {
    const stream = this.#stream;
    if (stream.cursor && this.#withoutCursor > 0 && this.#withCursor === 0) {
      return [
        `cursor field "${stream.cursor}" is missing from every record read (${this.#withoutCursor}): ` +
          'incremental reads cannot move past them, so each run reads them all again; check `cursor`',
      ];
    }
    return [];
  }
}
