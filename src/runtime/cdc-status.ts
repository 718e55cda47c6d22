import { describeError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import type { AnyStreamDefinition, CaptureControl, CaptureStatus } from '../core/stream-definition.ts';
import type { Logger } from '../core/types.ts';

/** A replication slot the config's streams read, and which streams share it. */
export interface CaptureSlot {
  readonly slot: string;
  readonly streams: readonly string[];
  readonly control: CaptureControl;
}

/** The state of one slot, or why it could not be read. */
export type CaptureSlotState = CaptureStatus & {
  readonly streams: readonly string[];
  readonly error: string | null;
};

/** How often `syncline run` reads its slots' lag. */
export const SLOT_WATCH_MS = 15_000;

/** The slots of the config's streams (`cdc` streams), one entry per slot. */
export function captureSlots(streams: readonly AnyStreamDefinition[]): CaptureSlot[] {
  const bySlot = new Map<string, { control: CaptureControl; streams: string[] }>();
  for (const stream of streams) {
    if (!stream.capture) continue;
    const entry = bySlot.get(stream.capture.slot);
    if (entry) entry.streams.push(stream.name);
    else bySlot.set(stream.capture.slot, { control: stream.capture, streams: [stream.name] });
  }
  return [...bySlot].map(([slot, { control, streams: names }]) => ({ slot, control, streams: names }));
}

/** Each slot's state on its source database; a source that cannot be reached gives its error. */
export async function readCaptureSlots(
  slots: readonly CaptureSlot[],
  secret: (name: string) => string,
): Promise<CaptureSlotState[]> {
  return Promise.all(
    slots.map(async ({ slot, control, streams }): Promise<CaptureSlotState> => {
      try {
        return { ...(await control.status(secret)), streams, error: null };
      } catch (error) {
        return {
          slot,
          streams,
          exists: false,
          active: false,
          lagBytes: null,
          confirmedLsn: null,
          maxLagBytes: 0,
          warning: null,
          error: describeError(error),
        };
      }
    }),
  );
}

/**
 * Reads the slots every `everyMs` for the service: a `capture:slot` event each (metrics, the API),
 * and a warning in the log when one passes its `maxSlotLag` (again each time it crosses back).
 * Returns the stop.
 */
export function watchCaptureSlots(args: {
  readonly slots: readonly CaptureSlot[];
  readonly secret: (name: string) => string;
  readonly events: SyncEventBus;
  readonly log: Logger;
  readonly everyMs?: number;
}): () => void {
  if (args.slots.length === 0) return () => undefined;
  const warned = new Set<string>();
  let reading = false;
  const read = async () => {
    if (reading) return;
    reading = true;
    try {
      for (const state of await readCaptureSlots(args.slots, args.secret)) {
        args.events.emit('capture:slot', {
          slot: state.slot,
          lagBytes: state.lagBytes,
          active: state.active,
          warning: state.warning,
        });
        if (state.error !== null) {
          args.log.warn({ slot: state.slot, err: state.error }, 'could not read the cdc slot');
        } else if (state.warning !== null && !warned.has(state.slot)) {
          warned.add(state.slot);
          args.log.warn({ slot: state.slot, lagBytes: state.lagBytes }, state.warning);
        } else if (state.warning === null) {
          warned.delete(state.slot);
        }
      }
    } finally {
      reading = false;
    }
  };
  void read();
  const timer = setInterval(() => void read(), args.everyMs ?? SLOT_WATCH_MS);
  timer.unref();
  return () => clearInterval(timer);
}
