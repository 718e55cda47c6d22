import type { ChangeKind, ChangeRow, Json } from './types.ts';

/**
 * A change as the change feed delivers it (`syncline changes --json` prints one a line; `changes()`
 * yields them in batches). Delivery is at least once: a consumer dedupes on `id`.
 */
export interface FeedChange {
  /** `<stream>:<seq>`: stable, the same every time the change is delivered. */
  readonly id: string;
  /** The change log's sequence number: strictly increasing in commit order, never reused. */
  readonly seq: number;
  readonly stream: string;
  readonly key: string;
  readonly kind: ChangeKind;
  /** The record's version and hash as this change wrote them. */
  readonly version: string | null;
  readonly hash: string;
  /** The run that committed it. */
  readonly run: string;
  /** When its page committed (ISO-8601 UTC). */
  readonly committedAt: string;
  /**
   * The key's latest state when the change was read: its record, or null when the key is deleted
   * now. A later change of the same key may already show here; its own change follows in the feed,
   * so a consumer that reads to the end holds every key's latest committed state.
   */
  readonly data: Json | null;
}

/** A change-log row read with its data, as the feed delivers it. */
export function feedChange(row: ChangeRow): FeedChange {
  return {
    id: `${row.stream}:${row.seq}`,
    seq: row.seq,
    stream: row.stream,
    key: row.key,
    kind: row.kind,
    version: row.version,
    hash: row.hash,
    run: row.runId,
    committedAt: row.at,
    data: row.data ?? null,
  };
}
