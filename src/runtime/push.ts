import { setTimeout as sleep } from 'node:timers/promises';
import type { SynclineConfig } from '../config/define-config.ts';
import type { ResolvedConfig, ResolvedDestination } from '../config/load-config.ts';
import { ConfigError, TransientError } from '../core/errors.ts';
import { SyncEventBus } from '../core/events.ts';
import type { FeedChange } from '../core/feed-change.ts';
import type { Store } from '../core/store.ts';
import type { Logger } from '../core/types.ts';
import { createRuntime } from './create-runtime.ts';
import { buildDestination, type PreparedSinks, prepareSinks } from './sinks.ts';

/** How often a push looks whether every destination caught up. */
const CHECK_MS = 100;

/** How one destination's push ended. */
export interface PushOutcome {
  readonly destination: string;
  /** The destination's offset in the change log when the push ended. */
  readonly offset: number;
  /** The end of the change log when the push began: caught up once `offset` reaches it. */
  readonly end: number;
  readonly caughtUp: boolean;
  /** Records the API refused during this push (new dead letters of the destination). */
  readonly refused: number;
  /** The full pass before it (`full: true`). */
  readonly full?: FullPassOutcome;
}

/** What a full pass of one destination did. */
export interface FullPassOutcome {
  readonly destination: string;
  /** Records of its streams compared (deleted ones included). */
  readonly records: number;
  /** Written: created, updated, or (mirror) deleted. */
  readonly written: number;
  /** Already as the destination last confirmed: nothing sent. */
  readonly unchanged: number;
  /** Refused by the API: dead letters of the destination. */
  readonly refused: number;
}

/** A batch of a full pass that keeps failing transiently is tried this many times. */
const FULL_PASS_ATTEMPTS = 8;

export interface PushOptions {
  /** Names of the destinations to push; all when omitted. */
  readonly destinations?: readonly string[];
  /** Overrides `config.store`. */
  readonly store?: string;
  /** Destination outcomes (`destination:written`) and sink events are emitted here. */
  readonly events?: SyncEventBus;
  /** Defaults to silence. */
  readonly log?: Logger;
  /** Abort to stop: the writes in flight end, what they confirmed is stored. */
  readonly signal?: AbortSignal;
  /**
   * First compare every record of the destinations' streams with what each destination last
   * confirmed, and write the differences (`fullPass`), then push the change log as usual.
   */
  readonly full?: boolean;
}

/**
 * Writes what the syncs changed into a config's destinations once, from code (`syncline push`
 * does the same): each goes on from the last write its API confirmed to the end of the change log
 * as it was when the push began. Throws the error that stopped a destination (a refused token:
 * `FatalError`); records the API refused are counted in `refused` (and are dead letters).
 */
export async function push(config: SynclineConfig, options: PushOptions = {}): Promise<PushOutcome[]> {
  const runtime = createRuntime({
    config: { code: config },
    ...(options.store ? { store: options.store } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    const resolved = await runtime.config();
    const selected = selectDestinations(resolved, options.destinations ?? []);
    const prepared = await prepareSinks({
      sinks: [],
      destinations: selected,
      log: options.log ?? runtime.log,
      ...(options.events ? { events: options.events } : {}),
    });
    const store = await runtime.store('write');
    const passes: FullPassOutcome[] = [];
    if (options.full) {
      for (const destination of selected) {
        passes.push(
          await fullPass(store, destination, {
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.events ? { events: options.events } : {}),
          }),
        );
      }
    }
    const outcomes = await pushPrepared(store, selected, prepared, options.signal);
    return outcomes.map((o) => {
      const pass = passes.find((p) => p.destination === o.destination);
      return pass ? { ...o, refused: o.refused + pass.refused, full: pass } : o;
    });
  } finally {
    await runtime.close();
  }
}

/** The config's destinations named in `names` (all of them when empty); an unknown name is a ConfigError. */
export function selectDestinations(config: ResolvedConfig, names: readonly string[]): ResolvedDestination[] {
  if (config.destinations.length === 0) {
    throw new ConfigError(
      `${config.file}: defines no destinations; add a destinations: list (see README "Destinations")`,
    );
  }
  for (const name of names) {
    if (!config.destinations.some((d) => d.name === name)) {
      throw new ConfigError(
        `unknown destination "${name}"; the config's destinations are ${config.destinations.map((d) => d.name).join(', ')}`,
      );
    }
  }
  return config.destinations.filter((d) => names.length === 0 || names.includes(d.name));
}

/**
 * Runs prepared destinations over `store` until each reached the change log's end as of now, one
 * stopped (its error is thrown), or `signal` aborts; then stops them and says how each ended.
 */
export async function pushPrepared(
  store: Store,
  destinations: readonly ResolvedDestination[],
  prepared: PreparedSinks,
  signal?: AbortSignal,
): Promise<PushOutcome[]> {
  const lettersBefore = await openLetters(store, destinations);
  const end = (await store.changeLogBounds()).newestSeq ?? 0;
  const running = prepared.start(store);
  const fatal = running.done.then(
    () => null,
    (error: unknown) => error,
  );
  const aborted = new Promise<'stopped'>((resolve) => {
    if (signal?.aborted) resolve('stopped');
    signal?.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  for (;;) {
    if (running.status().every((s) => s.offset >= end)) break;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      fatal,
      aborted,
      new Promise<'wait'>((resolve) => {
        timer = setTimeout(() => resolve('wait'), CHECK_MS);
      }),
    ]);
    clearTimeout(timer);
    if (ended !== 'wait') break; // a fatal error (or, null, every runner ended), or a stop
  }
  const status = running.status();
  await running.stop();
  const error = await Promise.race([fatal, Promise.resolve(null)]);
  if (error !== null) throw error;
  const lettersAfter = await openLetters(store, destinations);
  return status.map((s) => ({
    destination: s.name,
    offset: s.offset,
    end,
    caughtUp: s.offset >= end,
    refused: (lettersAfter.get(s.name) ?? 0) - (lettersBefore.get(s.name) ?? 0),
  }));
}

/** Open dead letters per destination (a destination's letters carry its name as their sink). */
async function openLetters(
  store: Store,
  destinations: readonly ResolvedDestination[],
): Promise<Map<string, number>> {
  const letters = await store.listDeadLetters({ limit: 1_000_000 });
  const names = new Set(destinations.map((d) => d.name));
  const counts = new Map<string, number>();
  for (const letter of letters) {
    if (letter.sink !== undefined && names.has(letter.sink))
      counts.set(letter.sink, (counts.get(letter.sink) ?? 0) + 1);
  }
  return counts;
}

/**
 * The destination's reconciliation: every record of its streams (soft-deleted ones as deletes) goes
 * through the destination as the change log's changes do, so what it holds matches the store again
 * after a change of `map`, a change log pruned past an offline destination, or a map reset. Records
 * whose payload is the one last confirmed send nothing. The map rows of what was written are
 * stored; the destination's offset does not move (the change log's own push follows).
 */
export async function fullPass(
  store: Store,
  destination: ResolvedDestination,
  options: { readonly signal?: AbortSignal; readonly events?: SyncEventBus } = {},
): Promise<FullPassOutcome> {
  const signal = options.signal ?? new AbortController().signal;
  const counts = new SyncEventBus();
  const outcome = { destination: destination.name, records: 0, written: 0, unchanged: 0, refused: 0 };
  counts.on('destination:written', (e) => {
    options.events?.emit('destination:written', e);
    if (e.outcome === 'ok') outcome.written += e.count;
    if (e.outcome === 'unchanged') outcome.unchanged += e.count;
  });
  const sink = await buildDestination(destination, store, counts);
  try {
    for (const stream of destination.streams) {
      for (let afterKey: string | undefined; ; ) {
        if (signal.aborted) return outcome;
        const rows = await store.scanRecords(stream, {
          limit: destination.batchSize,
          ...(afterKey !== undefined ? { afterKey } : {}),
        });
        if (rows.length === 0) break;
        afterKey = rows.at(-1)!.key;
        outcome.records += rows.length;
        const events: FeedChange[] = rows.map((row) => ({
          id: `${stream}:full:${row.key}`,
          seq: 0,
          stream,
          key: row.key,
          kind: row.deletedAt === null ? 'update' : 'delete',
          version: row.version,
          hash: row.hash,
          run: row.runId,
          committedAt: row.syncedAt,
          data: row.deletedAt === null ? row.data : null,
        }));
        for (let attempt = 1; ; attempt++) {
          try {
            const result = await sink.deliver(events, signal);
            const at = new Date().toISOString();
            if (result.writes?.length) {
              await store.storeDestinationMappings({
                destination: destination.name,
                at,
                writes: result.writes,
              });
            }
            if (result.rejected.length > 0) {
              outcome.refused += result.rejected.length;
              await store.addSinkDeadLetters({
                sink: destination.name,
                at,
                letters: result.rejected.map(({ event, reason }) => ({
                  stream: event.stream,
                  key: event.key,
                  eventId: event.id,
                  runId: event.run,
                  reason: `destination ${destination.name}: ${reason}`,
                  payload: JSON.stringify(event),
                })),
              });
            }
            break;
          } catch (error) {
            if (!(error instanceof TransientError) || attempt >= FULL_PASS_ATTEMPTS || signal.aborted)
              throw error;
            const backoff = Math.min(destination.retry.maxMs, destination.retry.baseMs * 2 ** (attempt - 1));
            await sleep(error.retryAfterMs ?? backoff * (0.5 + Math.random() / 2), undefined, { signal });
          }
        }
      }
    }
    return outcome;
  } finally {
    await sink.close().catch(() => undefined);
  }
}
