import type { ResolvedConfig, ResolvedDeliveringSink, ResolvedDestination } from '../config/load-config.ts';
import { nowIso } from '../core/clock.ts';
import { ConfigError, describeError, FatalError, NotFoundError, TransientError } from '../core/errors.ts';
import type { FeedEvent } from '../core/feed-change.ts';
import type { DeliveryResult, Sink } from '../core/sink.ts';
import type { DeadLetterStore, DestinationMapStore } from '../core/store.ts';
import type { StoredDeadLetter } from '../core/types.ts';
import { buildDestination, buildSink } from './sinks.ts';

/**
 * Redelivering a sink's or a destination's dead letters (`syncline sinks replay <name>`): the events
 * its target refused for good, sent again through the sink built from the config (for a destination,
 * the same sink `syncline push` writes through) once the target is fixed. The consumer offset is not
 * touched: these events are old, and the live runner goes on past them. A destination's confirmed
 * writes are stored in its external-ID map (`storeDestinationMappings`, no offset beside them).
 */

/** What `sinks replay` redelivers to: a sink a runner delivers to, or a destination. */
export type ReplayableTarget = ResolvedDeliveringSink | ResolvedDestination;

/** Whether the target is a destination (the one kind whose `type` is `http`). */
export function isDestinationTarget(target: ReplayableTarget): target is ResolvedDestination {
  return target.type === 'http';
}

/** What a redelivery uses of the store. */
export type SinkReplayStore = Pick<
  DeadLetterStore,
  'openSinkDeadLetters' | 'addSinkDeadLetters' | 'markSinkDeadLettersRedelivered'
> &
  Pick<DestinationMapStore, 'lookupMappings' | 'storeDestinationMappings'>;

/** What a redelivery did. */
export interface SinkReplayOutcome {
  readonly sink: string;
  /** Whether `sink` names a sink or a destination. */
  readonly kind: 'sink' | 'destination';
  /** Letters whose events the target confirmed: now `replayed`. */
  readonly redelivered: number;
  /** Letters whose events the target refused again: still open, with the new reason. */
  readonly refusedAgain: number;
  /** Letters not tried because a transient failure stopped the replay: still open. */
  readonly left: number;
  /** The transient failure that stopped it (one line), null when it went through. */
  readonly error: string | null;
}

/**
 * The config's sink or destination `name`, when it is one whose letters can be redelivered; an
 * unknown name or the sse sink (served by `syncline run`: its clients read the log themselves and
 * refuse nothing) is a ConfigError.
 */
export function replayableSink(config: ResolvedConfig, name: string): ReplayableTarget {
  const destination = config.destinations.find((d) => d.name === name);
  if (destination) return destination;
  const sink = config.sinks.find((s) => s.name === name);
  if (!sink) {
    const sinks = config.sinks.map((s) => s.name).join(', ');
    const destinations = config.destinations.map((d) => d.name).join(', ');
    throw new ConfigError(
      destinations !== ''
        ? `unknown sink or destination "${name}"; the config's sinks are ${sinks || 'none'}, its destinations ${destinations}`
        : sinks === ''
          ? `unknown sink "${name}": ${config.file} defines no sinks`
          : `unknown sink "${name}"; the config's sinks are ${sinks}`,
    );
  }
  if (sink.type === 'sse') {
    throw new ConfigError(
      `sink "${name}" is an sse sink: its clients read the change log themselves, so it has no dead letters to redeliver`,
    );
  }
  return sink;
}

export interface ReplaySinkArgs {
  readonly store: SinkReplayStore;
  readonly sink: ReplayableTarget;
  /** Only these letters (each must be an open letter of the sink: else NotFoundError); all when absent. */
  readonly ids?: readonly number[];
  /**
   * Builds the sink. Default `buildSink`, or `buildDestination` over the store for a destination
   * (its targets checked, its secret or token read).
   */
  readonly build?: (sink: ReplayableTarget) => Promise<Sink>;
  /** Cancels the delivery in flight (its letters stay open). */
  readonly signal?: AbortSignal;
  /** ISO-8601 now. Default the clock. */
  readonly now?: () => string;
}

/**
 * Redelivers the open dead letters of a sink (all, or `ids`) in id order, in batches of the sink's
 * batchSize. A letter the target confirms is marked `replayed`; one it refuses again stays open with
 * its new reason and one more occurrence; a transient failure (5xx, a timeout) stops the replay and
 * leaves that batch and the rest open (`error` says why). Any other failure of the sink is thrown.
 * No letters: an outcome of zeros, the sink not even built.
 */
export async function replaySinkLetters(args: ReplaySinkArgs): Promise<SinkReplayOutcome> {
  const { store, sink: config } = args;
  const now = args.now ?? nowIso;
  const destination = isDestinationTarget(config);
  const letters = await readLetters(store, config.name, destination ? 'destination' : 'sink', args.ids);
  const outcome = {
    sink: config.name,
    kind: destination ? ('destination' as const) : ('sink' as const),
    redelivered: 0,
    refusedAgain: 0,
    left: 0,
    error: null as string | null,
  };
  if (letters.length === 0) return outcome;
  const sink = await (
    args.build ?? ((t) => (isDestinationTarget(t) ? buildDestination(t, store) : buildSink(t)))
  )(config);
  const signal = args.signal ?? new AbortController().signal;
  try {
    for (let i = 0; i < letters.length; i += config.batchSize) {
      let batch = letters.slice(i, i + config.batchSize);
      if (destination) {
        // A letter holds the record as it was refused; once a later version of that record was
        // written, sending the old one would undo it: such a letter is settled without a write.
        const superseded = await supersededLetters(store, config.name, batch);
        if (superseded.size > 0) {
          outcome.redelivered += await store.markSinkDeadLettersRedelivered({
            sink: config.name,
            ids: [...superseded],
            at: now(),
          });
          batch = batch.filter((letter) => !superseded.has(letter.id));
          if (batch.length === 0) continue;
        }
      }
      const events = batch.map(toEvent);
      let result: DeliveryResult;
      try {
        result = await sink.deliver(events, signal);
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        outcome.left = letters.length - i;
        outcome.error = describeError(error);
        return outcome;
      }
      // Refused again: through addSinkDeadLetters, whose fingerprint (sink, event id) finds the
      // letter still open and counts it, with the new reason; the letter's own fields are kept.
      const reasons = new Map(result.rejected.map((r) => [r.event.id, r.reason]));
      const at = now();
      // A destination's external ids first: a crash before the letters are settled replays them
      // again, and the map turns the creates into updates (never a second external record).
      if (destination && result.writes && result.writes.length > 0) {
        await store.storeDestinationMappings({ destination: config.name, at, writes: result.writes });
      }
      const again = batch.flatMap((letter, j) => {
        const reason = reasons.get(events[j]!.id);
        return reason === undefined
          ? []
          : [
              {
                stream: letter.stream,
                key: letter.key ?? events[j]!.key,
                eventId: events[j]!.id,
                runId: letter.runId,
                reason: `${destination ? 'destination' : 'sink'} ${config.name}: ${reason}`,
                payload: letter.payload,
              },
            ];
      });
      if (again.length > 0) await store.addSinkDeadLetters({ sink: config.name, at, letters: again });
      const confirmed = batch.filter((_, j) => !reasons.has(events[j]!.id)).map((d) => d.id);
      outcome.redelivered += await store.markSinkDeadLettersRedelivered({
        sink: config.name,
        ids: confirmed,
        at,
      });
      outcome.refusedAgain += batch.length - confirmed.length;
    }
    return outcome;
  } finally {
    await sink.close().catch(() => undefined);
  }
}

/**
 * The outcome in one line: `sink "hooks": redelivered 3, refused again 1, left 0`, or that there
 * was nothing to redeliver; a transient failure's reason is not in it (`error` holds it).
 */
export function describeSinkReplay(o: SinkReplayOutcome): string {
  if (o.redelivered + o.refusedAgain + o.left === 0) {
    return `${o.kind} "${o.sink}" has no open dead letters to redeliver`;
  }
  return `${o.kind} "${o.sink}": redelivered ${o.redelivered}, refused again ${o.refusedAgain}, left ${o.left}`;
}

/** Letters read at once. */
const PAGE = 500;

async function readLetters(
  store: SinkReplayStore,
  sink: string,
  kind: 'sink' | 'destination',
  ids: readonly number[] | undefined,
): Promise<StoredDeadLetter[]> {
  const letters: StoredDeadLetter[] = [];
  for (let afterId = 0; ; ) {
    const page = await store.openSinkDeadLetters({ sink, afterId, limit: PAGE, ...(ids ? { ids } : {}) });
    letters.push(...page);
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) break;
    afterId = last.id;
  }
  if (ids) {
    const missing = [...new Set(ids)].filter((id) => !letters.some((d) => d.id === id));
    if (missing.length > 0) {
      throw new NotFoundError(
        `no open dead letter of ${kind} "${sink}" with id ${missing.join(', ')}; see \`syncline failed\``,
      );
    }
  }
  return letters;
}

/** The ids of a destination's letters whose record the destination confirmed since they were refused. */
async function supersededLetters(
  store: SinkReplayStore,
  destination: string,
  letters: readonly StoredDeadLetter[],
): Promise<Set<number>> {
  const byStream = new Map<string, StoredDeadLetter[]>();
  for (const letter of letters) {
    if (letter.key === undefined || letter.key === null) continue;
    byStream.set(letter.stream, [...(byStream.get(letter.stream) ?? []), letter]);
  }
  const out = new Set<number>();
  for (const [stream, list] of byStream) {
    const keys = [...new Set(list.map((l) => l.key as string))];
    const mappings = await store.lookupMappings({ destination, stream, keys });
    for (const letter of list) {
      const mapping = mappings.get(letter.key as string);
      if (mapping && mapping.syncedAt > letter.lastSeenAt) out.add(letter.id);
    }
  }
  return out;
}

/** The event a letter holds (its payload is the event as the sink was handed it). */
function toEvent(letter: StoredDeadLetter): FeedEvent {
  try {
    return JSON.parse(letter.payload) as FeedEvent;
  } catch {
    throw new FatalError(`dead letter ${letter.id} of "${letter.sink}" holds no event JSON`);
  }
}
