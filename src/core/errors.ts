/**
 * Errors carry their meaning: retry policy and exit codes decide with `instanceof`, never by
 * parsing messages. Every message says what happened, to which stream, and what to do.
 */

export interface SyncErrorDetails {
  /** The stream concerned, when there is one. */
  stream?: string;
  cause?: unknown;
}

/**
 * The names of an error's classes, from its own up to `SyncError`, under a key every copy of this
 * module shares. A TypeScript config is loaded through tsx's scoped import, which loads a second
 * copy of Syncline: the errors its streams throw (a `TransientError` for a 503) are instances of
 * that copy's classes, and a plain `instanceof` in the engine's copy said no, so nothing was ever
 * retried. `instanceof` on these classes also accepts an error carrying the class's name here.
 */
const CLASS_NAMES = Symbol.for('syncline.errorClassNames');

/** Base of every error Syncline throws across a layer boundary. */
export class SyncError extends Error {
  readonly stream: string | undefined;
  constructor(message: string, details: SyncErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.stream = details.stream;
    const names: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      names.push(c.name);
    }
    Object.defineProperty(this, CLASS_NAMES, { value: names });
  }

  /** `error instanceof TransientError`, also for an error of another copy of this module (above). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class asked about, often a subclass.
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const names = (value as { [CLASS_NAMES]?: unknown } | null | undefined)?.[CLASS_NAMES];
    // biome-ignore lint/complexity/noThisInStatic: as above.
    return Array.isArray(names) && names.includes(this.name);
  }
}

/** Worth retrying: the same operation may succeed later (429, 5xx, timeouts, resets). */
export class TransientError extends SyncError {
  /** Milliseconds the other side asked us to wait (Retry-After), if it said. */
  readonly retryAfterMs: number | undefined;
  /** The other side said "slow down" (HTTP 429): counted as `throttled` in the run record. */
  readonly throttled: boolean;
  constructor(
    message: string,
    details: SyncErrorDetails & { retryAfterMs?: number; throttled?: boolean } = {},
  ) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
    this.throttled = details.throttled ?? false;
  }
}

/** One record is bad: dead-letter it and go on. */
export class RecordError extends SyncError {}

/** Stop the run: retrying cannot help (bad config, 401/403, lost lease). */
export class FatalError extends SyncError {}

/** The configuration is wrong. The message names the file, the stream and the field. */
export class ConfigError extends FatalError {}

/** The store cannot be reached or its URL is malformed. The CLI exits 2 on it. */
export class StoreUnavailableError extends FatalError {}

/** Another worker holds the stream's lease. */
export class LeaseHeldError extends FatalError {
  readonly holder: string;
  readonly expiresAt: string;
  constructor(stream: string, holder: string, expiresAt: string) {
    super(
      `stream "${stream}" is being synced by ${holder} (lease expires ${expiresAt}); ` +
        'wait for it to finish or run again with --wait',
      { stream },
    );
    this.holder = holder;
    this.expiresAt = expiresAt;
  }
}

/**
 * The lease was taken over (or expired and was taken) while this worker held it: a commit fenced
 * by the old epoch was refused, nothing was written, and this worker must stop.
 */
export class LeaseLostError extends FatalError {
  constructor(stream: string, epoch: number) {
    super(
      `lost the lease on stream "${stream}" (epoch ${epoch} is no longer current): another worker took ` +
        'over; this run stopped without writing its last page',
      { stream },
    );
  }
}

/** Thrown by a run that was asked to stop (SIGINT/SIGTERM). */
export class InterruptedError extends SyncError {}

/**
 * The run reached its maximum duration, or a wait the source demanded would overrun it: the run
 * stops cleanly at its last checkpoint and is recorded `partial`. The next run continues there.
 */
export class RunDeadlineError extends SyncError {}

/** One line for a human: the message of a SyncError, or a short form of anything else. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
