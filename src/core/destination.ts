import type { Json } from './types.ts';

/**
 * What a destination does with the changes it gets:
 * - `upsert` (default): creates what has no object yet (after looking it up), updates the rest;
 * - `update-only`: updates objects it knows or finds, creates nothing;
 * - `create-only`: creates objects for keys it has none for, never changes one;
 * - `mirror`: as `upsert`, and a deleted record's object is deleted too.
 */
export type DestinationMode = 'upsert' | 'update-only' | 'create-only' | 'mirror';

/**
 * One record to write, as a destination's `write` gets it. Syncline has already mapped the record,
 * dropped what the destination holds unchanged (same payload hash) and what the mode leaves alone,
 * and looked the key up in the external-ID map; a batch holds each key at most once.
 */
export interface DestinationItem {
  /** `upsert`: make the object match `payload`; `delete`: remove object `externalId` (mode mirror). */
  readonly op: 'upsert' | 'delete';
  readonly stream: string;
  readonly key: string;
  /**
   * The object's id in the destination when Syncline has one for this key, else null: the record
   * may still exist there (a create whose answer was lost, a lost map), so look it up before a
   * create, and for a delete (answer `skipped()` when there is none).
   */
  readonly externalId: string | null;
  /** What to send (the `map` applied to the record); null for a delete. */
  readonly payload: Json | null;
  /** The source record; null for a delete. */
  readonly record: Json | null;
  /**
   * Derived from (destination, stream, key, version or payload hash): the same on every retry of
   * this write, different for a later change. Send it where the API deduplicates creates.
   */
  readonly idempotencyKey: string;
}

/** How one item went: one result per item, in the batch's order. */
export type DestinationResult =
  /** Done; `externalId` is the object's id (stored in the external-ID map). */
  | { readonly status: 'ok'; readonly externalId: string }
  /** Nothing to do for this item (`update-only` and the destination has no such object). */
  | { readonly status: 'skipped' }
  /** Not done now, may be later (a 429, a 5xx, a timeout): the whole batch is tried again. */
  | { readonly status: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  /** Refused for good (a validation error): the change is dead-lettered, the others go on. */
  | { readonly status: 'fail'; readonly reason: string };

export interface DestinationWriteContext {
  /** The destination's name. */
  readonly destination: string;
  readonly mode: DestinationMode;
  /** Aborted when the service stops: end what is in flight and return (or throw). */
  readonly signal: AbortSignal;
}

/**
 * Where records go: an external API, an SDK, anything `write` can reach. Syncline keeps the
 * position, the external-ID map and the retries; `write` only writes. Throwing from `write` stops
 * the destination (a wrong credential, a bug); answer `retry` for what may pass later and `fail`
 * for what never will.
 */
export interface Destination {
  /** Writes the batch; resolves with one result per item, in order. */
  write(
    batch: readonly DestinationItem[],
    context: DestinationWriteContext,
  ): Promise<readonly DestinationResult[]>;
  /** Releases what it holds (connections). */
  close?(): Promise<void>;
}

/** The item was written; `externalId` is the object's id in the destination. */
export function ok(externalId: string | number): DestinationResult {
  return { status: 'ok', externalId: String(externalId) };
}

/** Nothing was written for the item, and nothing needs to be. */
export function skipped(): DestinationResult {
  return { status: 'skipped' };
}

/** The item may be written later: the batch is tried again after a backoff (or `afterMs`). */
export function retry(reason: string, afterMs?: number): DestinationResult {
  return { status: 'retry', reason, ...(afterMs !== undefined ? { retryAfterMs: afterMs } : {}) };
}

/** The destination refused the item for good: it is dead-lettered. */
export function fail(reason: string): DestinationResult {
  return { status: 'fail', reason };
}
