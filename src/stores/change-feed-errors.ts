import { FatalError } from '../core/errors.ts';

/** An acknowledgement for a consumer that was never registered (both stores). */
export function consumerNotRegistered(consumer: string): FatalError {
  return new FatalError(
    `consumer "${consumer}" is not registered, so it has no offset to move; register it first ` +
      '(reading the change feed with that consumer does)',
  );
}

/** An acknowledgement of a seq the change log never assigned (both stores). */
export function ackPastTheEnd(consumer: string, seq: number, highest: number): FatalError {
  return new FatalError(
    `consumer "${consumer}" cannot acknowledge seq ${seq}: the change log has assigned seqs up to ` +
      `${highest} only; acknowledge the seq of a change it read`,
  );
}
