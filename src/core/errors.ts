/**
 * Errors carry their meaning: retry policy and exit codes decide with `instanceof`, never by
 * parsing messages. Every message says what happened, to which stream, and what to do.
 *
 * `instanceof` holds across copies of this module: a `syncline.config.ts` that imports Syncline by
 * a path (tsx loads it as a copy of its own; by its name it is the CLI's module) or a program
 * holding two copies throws a `TransientError` of another class than the engine's. Each class
 * carries a brand, and each error the brands of its classes under a `Symbol.for` key, which every
 * copy shares; `instanceof` checks the brand when the prototype chain says no.
 */

/** Where an error keeps the brands of its classes; `Symbol.for`, so every copy agrees on it. */
const BRANDS = Symbol.for('syncline.error.brands');

/** The brands of `value`'s classes, if it is an error made by any copy of this module. */
function brandsOf(value: unknown): readonly string[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const brands = (value as { [BRANDS]?: unknown })[BRANDS];
  return Array.isArray(brands) ? brands : undefined;
}

export interface SyncErrorDetails {
  /** The stream concerned, when there is one. */
  stream?: string;
  cause?: unknown;
}

/** Base of every error Syncline throws across a layer boundary. */
export class SyncError extends Error {
  /**
   * Names the class across copies of the package. Every class below sets its own; a subclass
   * without one (a user's) is recognised through its Syncline ancestors.
   */
  static readonly brand: string = 'syncline.SyncError';
  readonly stream: string | undefined;
  constructor(message: string, details: SyncErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.stream = details.stream;
    const brands: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c, 'brand')) brands.push((c as unknown as { brand: string }).brand);
    }
    Object.defineProperty(this, BRANDS, { value: brands });
  }

  /** The prototype chain, or else the brand: an error from another copy of this module counts. */
  static override [Symbol.hasInstance]<T>(
    this: abstract new (
      ...args: never[]
    ) => T,
    value: unknown,
  ): value is T {
    // biome-ignore lint/complexity/noThisInStatic lint/complexity/noUselessThisAlias: `this` is the class on the right of instanceof.
    const target: unknown = this;
    if (Function.prototype[Symbol.hasInstance].call(target, value)) return true;
    if (typeof target !== 'function' || !Object.hasOwn(target, 'brand')) return false;
    return brandsOf(value)?.includes((target as unknown as { brand: string }).brand) ?? false;
  }
}

/** Worth retrying: the same operation may succeed later (429, 5xx, timeouts, resets). */
export class TransientError extends SyncError {
  static override readonly brand: string = 'syncline.TransientError';
  /** Milliseconds the other side asked us to wait (Retry-After), if it said. */
  readonly retryAfterMs: number | undefined;
  /** The other side said "slow down" (HTTP 429): counted as `throttled` in the run record. */
  readonly throttled: boolean;
  /**
   * What failed in a few words, for live lines and retry logs (`503 from api.example.com`,
   * `api.example.com: the connection was reset`). Default: none (the message is shown instead).
   */
  readonly summary: string | undefined;
  constructor(
    message: string,
    details: SyncErrorDetails & { retryAfterMs?: number; throttled?: boolean; summary?: string } = {},
  ) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
    this.throttled = details.throttled ?? false;
    this.summary = details.summary;
  }
}

/** One record is bad: dead-letter it and go on. */
export class RecordError extends SyncError {
  static override readonly brand: string = 'syncline.RecordError';
}

/** Stop the run: retrying cannot help (bad config, 401/403, lost lease). */
export class FatalError extends SyncError {
  static override readonly brand: string = 'syncline.FatalError';
}

/** The configuration is wrong. The message names the file, the stream and the field. */
export class ConfigError extends FatalError {
  static override readonly brand: string = 'syncline.ConfigError';
}

/**
 * The store cannot be used as asked: it cannot be reached, its URL is malformed, it does not exist
 * (for a caller that does not create it), it cannot be written (for one that writes), or a table
 * named like a stream is not a stream table. The CLI exits 2 on it.
 */
export class StoreUnavailableError extends FatalError {
  static override readonly brand: string = 'syncline.StoreUnavailableError';
}

/** Another worker holds the stream's lease. */
export class LeaseHeldError extends FatalError {
  static override readonly brand: string = 'syncline.LeaseHeldError';
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
  static override readonly brand: string = 'syncline.LeaseLostError';
  constructor(stream: string, epoch: number) {
    super(
      `lost the lease on stream "${stream}" (epoch ${epoch} is no longer current): another worker took ` +
        'over; this run stopped without writing its last page',
      { stream },
    );
  }
}

/** A stream, run or dead letter that does not exist (exit 2 in the CLI, HTTP 404 in the API). */
export class NotFoundError extends SyncError {
  static override readonly brand: string = 'syncline.NotFoundError';
}

/** Thrown by a run that was asked to stop (SIGINT/SIGTERM). */
export class InterruptedError extends SyncError {
  static override readonly brand: string = 'syncline.InterruptedError';
}

/**
 * The run reached its maximum duration, or a wait the source demanded would overrun it: the run
 * stops cleanly at its last checkpoint and is recorded `partial`. The next run continues there.
 */
export class RunDeadlineError extends SyncError {
  static override readonly brand: string = 'syncline.RunDeadlineError';
}

/** One line for a human: the message of a SyncError, or a short form of anything else. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
