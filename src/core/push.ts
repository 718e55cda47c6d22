import type { InboxStore, StoreInspector } from './store.ts';

/** A pushed request as the receiver hands it over: headers by (any-case) name, and the raw body. */
export interface PushRequest {
  readonly headers: (name: string) => string | undefined;
  readonly body: Buffer;
}

/**
 * What a push source says of a request: accept it as an inbox event (its id, and the headers the
 * source needs when it applies it), or refuse it: 400 (malformed), 401 (signature or timestamp),
 * 413 (too large). `reason` is one line for the log and the answer; never a secret.
 */
export type PushVerdict =
  | { readonly ok: true; readonly eventId: string; readonly headers: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly status: 400 | 401 | 413; readonly reason: string };

/** The receiving side of a push source (a webhook stream), built once its secrets are read. */
export interface PushReceiver {
  /** Larger bodies are refused 413 before they are read in full. */
  readonly maxBodyBytes: number;
  /** The answer to a redelivered event (the inbox has its id): 200 (default) or 409. */
  readonly duplicateStatus: 200 | 409;
  /** Checks one request (signature, timestamp, body). Synchronous and quick: the 2xx waits on it. */
  accept(request: PushRequest): PushVerdict;
}

/**
 * What a push source reads back when a run applies what was received (`readInbox`); a source that
 * captures changes itself (a replication slot) appends them (`addInboxEvent`, durable when it
 * resolves) before it acknowledges them to its origin, and may page through what the stream table
 * holds (`scanRecords`) to find what a fresh snapshot no longer has.
 */
export type InboxReader = Pick<InboxStore, 'readInbox' | 'addInboxEvent'> &
  Pick<StoreInspector, 'scanRecords'>;
