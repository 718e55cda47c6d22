import { nowIso } from '../core/clock.ts';
import { ConfigError } from '../core/errors.ts';
import type { StreamSource } from '../core/source.ts';
import type { CheckpointSlot, RunStore } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import type { Json, Lease, Logger, RunCounters, RunMode, RunRequest } from '../core/types.ts';
import { finishScan, startScan } from './reconcile-scan.ts';
import { replaySource } from './replay-source.ts';
import { windowedSource } from './windowed-source.ts';

/** A range backfill's window when the request names none: 7 days. */
export const DEFAULT_BACKFILL_WINDOW_MS = 7 * 86_400_000;

/** What a mode's hooks are given: the request, the stream and the store. */
export interface RunModeContext<R extends RunRequest = RunRequest> {
  readonly request: R;
  readonly stream: AnyStreamDefinition;
  readonly store: RunStore;
}

/** What a mode's `end` is given: the run as its pipeline left it. */
export interface RunModeEnd<R extends RunRequest = RunRequest> extends RunModeContext<R> {
  readonly lease: Lease;
  readonly runId: string;
  /** The run's totals; `end` may add to them (a reconciliation's deletes). */
  readonly totals: RunCounters;
  /** An operator approved this run past the breaker (`syncline approve`). */
  readonly approved: boolean;
  /** The pipeline read the source to its end and every commit was confirmed. */
  readonly ok: boolean;
  /** The evidence recorded so far (the breaker's, the mode's, warnings). */
  readonly evidence: Json | null;
  readonly log: Logger;
}

/** What a mode's `end` decided: the run's evidence, and an error that pauses the run instead of ending it. */
export interface RunModeEnded {
  readonly evidence: Json | null;
  readonly paused?: Error;
}

/**
 * One mode of run: everything `runStream` does differently for it. Adding a mode is a member of
 * `RunRequest` (core/types.ts) and an entry in `RUN_MODES`; the pipeline itself has no modes.
 */
export interface RunModeEntry<R extends RunRequest = RunRequest> {
  /**
   * What the pipeline reads: the stream's source, a wrapper of it, its `fetchByKey`, or the stored
   * dead letters. Throws `ConfigError` when the stream cannot serve the mode.
   */
  readonly source: (ctx: RunModeContext<R>) => StreamSource<unknown>;
  /**
   * The checkpoint slot commits move: `main` (the stream's position; a refresh or replay commits it
   * unchanged, since its pages carry it as they got it) or `backfill` (a slot kept apart, so the
   * main checkpoint never moves backwards). The run's result reports the main checkpoint.
   */
  readonly slot: CheckpointSlot;
  /** Where the source starts: at the slot's stored checkpoint, or at the beginning (null). */
  readonly startsAt: 'slot' | 'beginning';
  /**
   * The backfill breaker judges the run's writes. Only for syncs: the other modes are deliberate
   * (an operator asked for them) or, for a reconciliation, judged by its own delete share.
   */
  readonly guarded: boolean;
  /**
   * A page whose every record failed the same way stops the run (see `sharedFailure`): reading the
   * source, that is the config's fault, not the records'. Not for a refresh or replay of known records.
   */
  readonly judgesPages: boolean;
  /** Each commit records the keys its page saw, for a scan that deletes what it did not see. */
  readonly scans: boolean;
  /** Before the pipeline starts, after the run is recorded. */
  readonly begin?: (ctx: RunModeContext<R>) => Promise<void>;
  /** The run's evidence, in place of the breaker's; `absent`: keys found neither at the source nor in the store. */
  readonly evidence?: (ctx: RunModeContext<R> & { readonly absent: readonly string[] }) => Json;
  /** After the pipeline, whatever its outcome: settles what the mode left open. */
  readonly end?: (ctx: RunModeEnd<R>) => Promise<RunModeEnded>;
}

type RunModeTable = { readonly [M in RunMode]: RunModeEntry<Extract<RunRequest, { mode: M }>> };

/** Every mode of run, and how each is wired (see `RunModeEntry`). */
export const RUN_MODES: RunModeTable = {
  sync: {
    source: ({ stream }) => stream.source,
    slot: 'main',
    startsAt: 'slot',
    guarded: true,
    judgesPages: true,
    scans: false,
  },
  reconcile: {
    source: ({ stream }) => stream.source,
    slot: 'backfill',
    startsAt: 'beginning',
    guarded: false,
    judgesPages: true,
    scans: true,
    begin: ({ store, stream }) => startScan(store, stream.name),
    // Only a scan that completed deletes; its evidence is the drift it repaired.
    end: async (ctx) => {
      const scan = await finishScan(ctx);
      return { evidence: scan.evidence, ...(scan.paused ? { paused: scan.paused } : {}) };
    },
  },
  backfill: {
    source: ({ stream, request }) =>
      windowedSource(stream.source, request.range, request.windowMs ?? DEFAULT_BACKFILL_WINDOW_MS),
    slot: 'backfill',
    startsAt: 'slot',
    guarded: false,
    judgesPages: true,
    scans: false,
    // A finished backfill clears its slot, so the next one starts afresh; an unfinished one resumes.
    end: async ({ store, stream, ok, evidence }) => {
      if (ok) await store.resetCheckpoint(stream.name, nowIso(), 'backfill');
      return { evidence };
    },
  },
  refresh: {
    source: ({ stream }) => {
      if (!stream.fetchByKey) {
        throw new ConfigError(
          `stream "${stream.name}" cannot read records by key: give it fetchById (HTTP streams) or fetchByKey`,
        );
      }
      return stream.fetchByKey;
    },
    slot: 'main',
    startsAt: 'slot',
    guarded: false,
    judgesPages: false,
    scans: false,
    evidence: ({ request, absent }) => ({
      kind: 'refresh',
      requested: request.keys.length,
      notFound: [...absent],
    }),
  },
  replay: {
    source: ({ store, request }) => replaySource(store, request.letters ?? null),
    slot: 'main',
    startsAt: 'slot',
    guarded: false,
    judgesPages: false,
    scans: false,
  },
};

/** The table's entry for `request`. */
export function runModeOf<R extends RunRequest>(request: R): RunModeEntry<R> {
  // The entry is the one of `request.mode`, the very member that narrows `R`; TypeScript cannot
  // follow an index by a union's tag to the member, hence the cast.
  return RUN_MODES[request.mode] as unknown as RunModeEntry<R>;
}
