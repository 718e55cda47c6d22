import type { ResolvedDestination } from '../config/load-config.ts';
import type { ChangeFeed, DeadLetterStore } from '../core/store.ts';
import { destinationConsumer } from './sinks.ts';

/** Lag and open letters are counted up to this many, then shown as "10,000+". */
export const DESTINATION_COUNT_LIMIT = 10_000;

/** Where one destination is, read from the store (no runner needed): what `syncline status` shows. */
export interface DestinationState {
  readonly destination: string;
  /** The highest seq its API confirmed; null before its first `syncline push` (or `syncline run`). */
  readonly offset: number | null;
  /** Change-log rows of its streams after its offset, still to deliver (at most `DESTINATION_COUNT_LIMIT + 1`). */
  readonly lag: number;
  /** Its open dead letters: records its API refused (at most `DESTINATION_COUNT_LIMIT + 1`). */
  readonly openDeadLetters: number;
  /** When its offset last moved, null before its first delivery. */
  readonly updatedAt: string | null;
}

/** The state of each destination, in config order. */
export async function destinationStates(
  store: ChangeFeed & Pick<DeadLetterStore, 'openSinkDeadLetters'>,
  destinations: readonly ResolvedDestination[],
): Promise<DestinationState[]> {
  const states: DestinationState[] = [];
  for (const d of destinations) {
    const offset = await store.consumerOffset(destinationConsumer(d.name));
    const rows = await store.readChanges({
      afterSeq: offset?.seq ?? 0,
      limit: DESTINATION_COUNT_LIMIT + 1,
      stream: d.streams,
    });
    const letters = await store.openSinkDeadLetters({
      sink: d.name,
      afterId: 0,
      limit: DESTINATION_COUNT_LIMIT + 1,
    });
    states.push({
      destination: d.name,
      offset: offset?.seq ?? null,
      lag: rows.length,
      openDeadLetters: letters.length,
      updatedAt: offset?.updatedAt ?? null,
    });
  }
  return states;
}
