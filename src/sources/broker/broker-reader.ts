import type { Checkpoint } from '../../core/types.ts';

/** One message as a reader hands it over, in the broker's order. */
export interface BrokerMessage {
  /** The broker position as fixed-width digits: comparing two as text orders them. */
  readonly position: string;
  /** The position as the checkpoint keeps it: a NATS stream sequence, a Redis entry id. */
  readonly label: string;
  /** Where it is, for dead letters and logs: `nats stream DBZ seq 42 (dbz.public.customers)`. */
  readonly where: string;
  /** The message's text; null when it has none (an empty message, a trimmed Redis entry). */
  readonly body: string | null;
  /** Why the body is missing when the broker lost it (a trimmed Redis entry): logged, then skipped. */
  readonly missing?: string;
  /** Acknowledges it to the broker; never throws (a lost acknowledgement means a redelivery). */
  ack(): Promise<void>;
}

/** A broker's side of a broker stream: a consumer (NATS) or consumer group (Redis) Syncline owns. */
export interface BrokerReader {
  /** What it reads, without credentials: `nats://127.0.0.1:4222 stream DBZ (dbz.>) consumer syncline_x`. */
  readonly shown: string;
  /**
   * Connects and makes sure the consumer exists and delivers everything after `committed` (the
   * label of the last committed position; null: none), in order, without waiting for redeliveries.
   * Resolves with what the run should warn about (entries lost to trimming).
   */
  open(committed: string | null): Promise<readonly string[]>;
  /**
   * After `open`: the digits of the newest position the broker held then (any subject), or null
   * when it held nothing. A sync reads up to it (and what else comes within `idle`), then ends.
   */
  readonly end: string | null;
  /** The next messages in order, up to `max`: waits up to `waitMs` for the first; [] when none came. */
  read(max: number, waitMs: number, signal: AbortSignal): Promise<BrokerMessage[]>;
  /** Makes sure acknowledgements sent reached the broker, then disconnects. */
  close(): Promise<void>;
}

/** How a broker names positions in checkpoints. */
export interface PositionCodec {
  /** The checkpoint of a page ending at `label`. */
  checkpointOf(label: string): Checkpoint;
  /** The label a stored checkpoint holds, or null for none; a FatalError when it is another broker's. */
  labelOf(checkpoint: Checkpoint): string | null;
  /** The fixed-width digits of a label. */
  digitsOf(label: string): string;
}
