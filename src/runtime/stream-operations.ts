import { nowIso } from '../core/clock.ts';
import { ConfigError, NotFoundError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import type { RunRecord, StreamState } from '../core/types.ts';

/**
 * The operator's actions on a stream that the CLI (`syncline approve`, `reset`, `failed replay`) and
 * the service's HTTP API both offer, over a store: one implementation, so the two doors cannot
 * drift apart. Each caller words its own output; these say what happened.
 */

/** The stream's state row; `NotFoundError` when the store has none (never synced, or a typo). */
export async function requireStreamState(store: Store, stream: string): Promise<StreamState> {
  const state = await store.getState(stream);
  if (!state)
    throw new NotFoundError(`unknown stream "${stream}": the store has no state for it`, { stream });
  return state;
}

/** What `approveStream` did: `paused` is the run the breaker stopped, null when none was. */
export interface ApproveOutcome {
  readonly approved: boolean;
  readonly paused: RunRecord | null;
  /** One line: what was approved and why it had paused, or that nothing needed approving. */
  readonly message: string;
}

/**
 * Lets the next runs of a stream the backfill breaker paused through, until one completes. A stream
 * that is not paused is left as is (not an error: it is already where approving would put it).
 */
export async function approveStream(store: Store, stream: string, at = nowIso()): Promise<ApproveOutcome> {
  await requireStreamState(store, stream);
  // The breaker stops syncs and reconciliations; refreshes, replays and backfills in between do not
  // lift a pause, so the last run of those two modes decides.
  const runs = await store.listRuns({ stream, limit: 50 });
  const last = runs.find((r) => r.mode === 'sync' || r.mode === 'reconcile');
  if (last?.status !== 'paused_backfill') {
    return { approved: false, paused: null, message: `stream "${stream}" is not paused; nothing to approve` };
  }
  await store.setApproval(stream, true, at);
  return {
    approved: true,
    paused: last,
    message: `approved "${stream}" (its last ${last.mode} paused: ${last.error})`,
  };
}

/** Clears a stream's checkpoint: its next run reads the source from the beginning; records stay. */
export async function resetStream(
  store: Store,
  stream: string,
  at = nowIso(),
): Promise<{ readonly before: StreamState }> {
  const before = await requireStreamState(store, stream);
  await store.resetCheckpoint(stream, at);
  return { before };
}

/** One stream a replay runs, and which of its open letters (all of them when absent). */
export interface ReplayTarget {
  readonly stream: string;
  readonly letters?: readonly number[];
}

/**
 * Which streams a replay runs: the streams of the letters `ids` (each letter must be open, and of
 * `stream` when given: else `NotFoundError`; a sink's letter is a ConfigError naming `syncline sinks
 * replay`), or `stream`, or every stream of `configStreams` with
 * open record letters (not only a sink's). A stream the store has but the config no longer defines
 * cannot be run, so it is left out of the last case.
 */
export async function replayTargets(
  store: Store,
  query: { readonly stream?: string; readonly ids?: readonly number[] },
  configStreams: readonly string[],
  /** The config's destination names, so their letters are named as a destination's. */
  destinations: readonly string[] = [],
): Promise<ReplayTarget[]> {
  const { stream, ids } = query;
  if (ids) {
    const letters = await store.listDeadLetters({ ids, limit: ids.length, ...(stream ? { stream } : {}) });
    const missing = ids.filter((id) => !letters.some((d) => d.id === id));
    if (missing.length > 0) {
      throw new NotFoundError(
        `no open dead letter with id ${missing.join(', ')}${stream ? ` in stream "${stream}"` : ''}; ` +
          'see `syncline failed`',
        stream ? { stream } : {},
      );
    }
    // A sink's letter holds an event for its target, not a record to apply: say where it goes.
    const events = letters.filter((d) => d.sink !== undefined);
    if (events.length > 0) {
      const sinks = [...new Set(events.map((d) => d.sink))];
      throw new ConfigError(
        `dead letter${events.length === 1 ? '' : 's'} ${events.map((d) => d.id).join(', ')} ` +
          `${events.length === 1 ? 'is an event' : 'are events'} ${refuser(sinks, destinations)} refused, ` +
          `${events.length === 1 ? 'not a record' : 'not records'}: redeliver with ` +
          sinks.map((name) => `\`syncline sinks replay ${name} --id <ids...>\``).join(' or '),
      );
    }
    const byStream = new Map<string, number[]>();
    for (const id of ids) {
      const letter = letters.find((d) => d.id === id)!;
      byStream.set(letter.stream, [...(byStream.get(letter.stream) ?? []), id]);
    }
    return [...byStream].map(([name, letterIds]) => ({ stream: name, letters: letterIds }));
  }
  if (stream) return [{ stream }];
  const names = new Set(configStreams);
  const targets: ReplayTarget[] = [];
  for (const s of await store.listStreams()) {
    if (s.openFailures === 0 || !names.has(s.stream)) continue;
    // Open failures count the events sinks refused too: a stream with only those has no record to apply.
    const records = await store.openDeadLetters({ stream: s.stream, afterId: 0, limit: 1 });
    if (records.length > 0) targets.push({ stream: s.stream });
  }
  return targets;
}

/**
 * One line for a record replay that was not given ids: how many open letters (of `stream`, or of
 * every stream) are events sinks refused, which no record replay applies, and the command that
 * redelivers them; null when there are none.
 */
export async function sinkLettersHint(
  store: Store,
  stream?: string,
  destinations: readonly string[] = [],
): Promise<string | null> {
  const open = await store.listDeadLetters({ ...(stream ? { stream } : {}), limit: 10_000 });
  const bySink = new Map<string, number>();
  for (const d of open) if (d.sink !== undefined) bySink.set(d.sink, (bySink.get(d.sink) ?? 0) + 1);
  if (bySink.size === 0) return null;
  const count = [...bySink.values()].reduce((a, b) => a + b, 0);
  return (
    `${count} open letter${count === 1 ? ' is an event' : 's are events'} ${refuser([...bySink.keys()], destinations)} refused, not ` +
    `${count === 1 ? 'a record' : 'records'}: redeliver with ` +
    [...bySink.keys()].map((name) => `\`syncline sinks replay ${name} --all\``).join(' or ')
  );
}

/** Who refused the letters of these sink names: `a sink`, `a destination`, or `a sink or destination`. */
function refuser(names: readonly (string | undefined)[], destinations: readonly string[]): string {
  const ofDestinations = names.filter((n) => n !== undefined && destinations.includes(n)).length;
  if (ofDestinations === 0) return 'a sink';
  return ofDestinations === names.length ? 'a destination' : 'a sink or destination';
}
