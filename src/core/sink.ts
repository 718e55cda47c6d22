import type { FeedEvent } from './feed-change.ts';
import type { DestinationWrite } from './store.ts';

/**
 * A sink delivers events (changes and finished runs of the change log, `FeedEvent`) to one target:
 * a webhook endpoint, Redis Streams or NATS JetStream. (The `sse` sink is no `Sink`: `syncline run`
 * serves it, each client at its own position; see sinks/sse/sse-channel.ts.) It is a named consumer of the change log
 * (`sink:<name>`) whose offset the runner (sinks/sink-runner.ts) moves only after `deliver`
 * confirmed a batch, so a sink itself keeps no position and may be built afresh after a restart.
 */
export interface Sink {
  readonly name: string;
  /**
   * Delivers `events` (in seq order, at least one). Resolving means the target confirmed every
   * event but those in `rejected`. Throws `TransientError` (with `retryAfterMs` when the target
   * asked for a wait) when the same batch may succeed later; any other error is fatal for this
   * sink. Aborting `signal` cancels what is in flight (then it throws).
   */
  deliver(events: readonly FeedEvent[], signal: AbortSignal): Promise<DeliveryResult>;
  /** Releases what the sink holds (sockets, timers). */
  close(): Promise<void>;
}

export interface DeliveryResult {
  /** Events the target refused for good (a 4xx): they become delivery dead letters. */
  readonly rejected: readonly { readonly event: FeedEvent; readonly reason: string }[];
  /**
   * A destination's results: the external-ID map rows its writes produced, stored with the
   * consumer's offset in one transaction (`RunSinkOptions.confirm`). Sinks leave it out.
   */
  readonly writes?: readonly DestinationWrite[];
}

/** The consumer name of sink `name` in `syncline_consumers`. */
/**
 * What a sink's events can be: a record's change, or `run` (a finished run that changed something
 * or failed: its status, counters and checkpoints).
 */
export type SinkEventKind = 'insert' | 'update' | 'delete' | 'run';

export function sinkConsumer(name: string): string {
  return `sink:${name}`;
}

/** What a sink's runner is doing, for `status()`, the CLI and the API. */
export interface SinkStatus {
  readonly name: string;
  /**
   * `running`: delivering or waiting for changes; `retrying`: the last delivery failed and the same
   * batch waits for its retry; `paused`: failing for longer than `pauseAfter`, waits for `resume()`;
   * `stopped`: the runner ended; `elsewhere`: another worker of the cluster delivers to it now.
   */
  readonly state: 'running' | 'retrying' | 'paused' | 'stopped' | 'elsewhere';
  /** The highest seq the target confirmed (the consumer's offset). */
  readonly offset: number;
  /** The last failure's message, null once a delivery succeeds. */
  readonly lastError: string | null;
  /** When the current run of failures began (ISO-8601), null when not failing. */
  readonly failingSince: string | null;
}
