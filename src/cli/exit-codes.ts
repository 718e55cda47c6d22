import { ConfigError, LeaseHeldError, NotFoundError, StoreUnavailableError } from '../core/errors.ts';

/** Exit codes of the `syncline` command (documented in the README). */
export const EXIT = {
  ok: 0,
  /** A run failed (its error is in `syncline runs`). */
  failed: 1,
  /** Bad usage, bad config, an unknown stream or letter, or the store cannot be opened. */
  usage: 2,
  /** Another worker holds a stream's lease. */
  busy: 3,
  /** A stream paused before a suspected backfill or mass delete: `syncline approve` it. */
  paused: 4,
  /** Stopped by SIGINT after finishing the page in progress. */
  sigint: 130,
  /** Stopped by SIGTERM after finishing the page in progress. */
  sigterm: 143,
} as const;

export function exitCodeFor(error: unknown): number {
  if (
    error instanceof ConfigError ||
    error instanceof NotFoundError ||
    error instanceof StoreUnavailableError
  ) {
    return EXIT.usage;
  }
  if (error instanceof LeaseHeldError) return EXIT.busy;
  return EXIT.failed;
}
