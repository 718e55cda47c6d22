import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import type { Page, SourceArgs, StreamSource } from '../core/source.ts';
import type { RunStore } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import { emptyCounters, type RunMode, type RunRequest } from '../core/types.ts';
import type { ReplayPage } from './replay-source.ts';
import { DEFAULT_BACKFILL_WINDOW_MS, RUN_MODES, runModeOf } from './run-modes.ts';

/** A store whose every method records its call and answers from `answers` (undefined otherwise). */
function recordingStore(answers: Record<string, (...args: unknown[]) => unknown> = {}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const store = new Proxy(
    {},
    {
      get: (_target, name) => {
        // Not a thenable: an async function may return the store.
        if (typeof name !== 'string' || name === 'then') return undefined;
        return async (...args: unknown[]) => {
          calls.push({ method: name, args });
          return answers[name]?.(...args);
        };
      },
    },
  ) as RunStore;
  return { store, calls, methods: () => calls.map((c) => c.method) };
}

const noPages: StreamSource<unknown> = async function* () {};

function stream(over: Partial<AnyStreamDefinition> = {}): AnyStreamDefinition {
  return { name: 'people', key: 'id', cursor: 'updated_at', source: noPages, ...over };
}

/** SourceArgs as the pipeline gives them, for reading a mode's source directly. */
function sourceArgs(request: RunRequest): SourceArgs {
  return {
    stream: 'people',
    checkpoint: { at: 'main' },
    signal: new AbortController().signal,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    report() {},
    attempt: (op) => op(1, { attempt: 1, maxAttempts: 1, last: true }),
    observeLimit() {},
    deadline: null,
    secret: () => '',
    request,
  };
}

async function pagesOf(source: StreamSource<unknown>, request: RunRequest): Promise<Page<unknown>[]> {
  const pages: Page<unknown>[] = [];
  for await (const page of source(sourceArgs(request))) pages.push(page);
  return pages;
}

describe('RUN_MODES', () => {
  it('says for each mode which slot it moves, where it starts, and what judges it', () => {
    const wiring = Object.fromEntries(
      Object.entries(RUN_MODES).map(([mode, e]) => [
        mode,
        {
          slot: e.slot,
          startsAt: e.startsAt,
          guarded: e.guarded,
          judgesPages: e.judgesPages,
          scans: e.scans,
        },
      ]),
    );
    expect(wiring).toEqual({
      // Only a sync moves the main checkpoint forward and is judged by the backfill breaker.
      sync: { slot: 'main', startsAt: 'slot', guarded: true, judgesPages: true, scans: false },
      reconcile: { slot: 'backfill', startsAt: 'beginning', guarded: false, judgesPages: true, scans: true },
      backfill: { slot: 'backfill', startsAt: 'slot', guarded: false, judgesPages: true, scans: false },
      // Refresh and replay pages carry the main checkpoint unchanged; they read known records.
      refresh: { slot: 'main', startsAt: 'slot', guarded: false, judgesPages: false, scans: false },
      replay: { slot: 'main', startsAt: 'slot', guarded: false, judgesPages: false, scans: false },
    } satisfies Record<RunMode, unknown>);
  });

  it("reads the stream's own source in a sync and a reconciliation", () => {
    const { store } = recordingStore();
    const def = stream();
    expect(RUN_MODES.sync.source({ request: { mode: 'sync' }, stream: def, store })).toBe(def.source);
    expect(RUN_MODES.reconcile.source({ request: { mode: 'reconcile' }, stream: def, store })).toBe(
      def.source,
    );
  });

  it('reads a backfill window by window: each window is a backfill request of its own range, started afresh', async () => {
    const seen: SourceArgs[] = [];
    const def = stream({
      source: async function* (args) {
        seen.push(args);
        yield { records: [{ id: seen.length }], checkpoint: { page: seen.length } };
      },
    });
    const request: RunRequest = {
      mode: 'backfill',
      range: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-03T12:00:00.000Z' },
      windowMs: 86_400_000,
    };
    const source = runModeOf(request).source({ request, stream: def, store: recordingStore().store });
    const pages = await pagesOf(source, request);
    expect(seen.map((a) => a.request)).toEqual([
      {
        mode: 'backfill',
        range: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
        windowMs: 86_400_000,
      },
      {
        mode: 'backfill',
        range: { from: '2026-01-02T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z' },
        windowMs: 86_400_000,
      },
      {
        mode: 'backfill',
        range: { from: '2026-01-03T00:00:00.000Z', to: '2026-01-03T12:00:00.000Z' },
        windowMs: 86_400_000,
      },
    ]);
    // The stored main checkpoint is not the backfill's: each window starts at its beginning.
    expect(seen.map((a) => a.checkpoint)).toEqual([null, null, null]);
    // A page per source page and one that moves to the next window, each with the window's place.
    expect(pages).toHaveLength(6);
    expect(pages[1]!.checkpoint).toMatchObject({ windowFrom: '2026-01-02T00:00:00.000Z', source: null });
  });

  it('reads a backfill in windows of 7 days when the request names no window size', async () => {
    const seen: RunRequest[] = [];
    const def = stream({
      source: async function* (args) {
        seen.push(args.request);
        yield* [];
      },
    });
    const request: RunRequest = {
      mode: 'backfill',
      range: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-20T00:00:00.000Z' },
    };
    await pagesOf(
      runModeOf(request).source({ request, stream: def, store: recordingStore().store }),
      request,
    );
    expect(DEFAULT_BACKFILL_WINDOW_MS).toBe(7 * 86_400_000);
    expect(seen.map((r) => (r.mode === 'backfill' ? r.range.from.slice(0, 10) : r.mode))).toEqual([
      '2026-01-01',
      '2026-01-08',
      '2026-01-15',
    ]);
  });

  it("reads a refresh through the stream's fetchByKey, and refuses a stream without one", () => {
    const { store } = recordingStore();
    const request = { mode: 'refresh', keys: ['1'] } as const;
    const fetchByKey: StreamSource<unknown> = async function* () {};
    expect(RUN_MODES.refresh.source({ request, stream: stream({ fetchByKey }), store })).toBe(fetchByKey);
    expect(() => RUN_MODES.refresh.source({ request, stream: stream(), store })).toThrow(ConfigError);
    expect(() => RUN_MODES.refresh.source({ request, stream: stream(), store })).toThrow(
      'stream "people" cannot read records by key: give it fetchById (HTTP streams) or fetchByKey',
    );
  });

  it("reads a replay from the stream's open dead letters, the asked ones only, with the main checkpoint", async () => {
    const letter = { id: 7, payload: '{"id":1}', tombstone: false };
    const { store, calls } = recordingStore({ openDeadLetters: () => [letter] });
    const request: RunRequest = { mode: 'replay', letters: [7] };
    const pages = await pagesOf(runModeOf(request).source({ request, stream: stream(), store }), request);
    expect(calls[0]).toEqual({
      method: 'openDeadLetters',
      args: [{ stream: 'people', afterId: 0, limit: 500, ids: [7] }],
    });
    expect(pages).toEqual([
      {
        records: [{ id: 1 }],
        tombstones: [],
        checkpoint: { at: 'main' },
        origins: { records: [7], tombstones: [] },
      },
    ] satisfies ReplayPage[]);
  });

  it('starts a reconciliation by dropping what an earlier scan left', async () => {
    const { store, calls } = recordingStore();
    await RUN_MODES.reconcile.begin!({ request: { mode: 'reconcile' }, stream: stream(), store });
    expect(calls.map((c) => [c.method, c.args[0], c.args.at(-1)])).toEqual([
      ['dropScan', 'people', 'reconcile'],
      ['resetCheckpoint', 'people', 'backfill'],
    ]);
  });

  const ending = (store: RunStore, ok: boolean) => ({
    stream: stream(),
    store,
    lease: { stream: 'people', holder: 'h', epoch: 1, expiresAt: '2026-01-01T00:00:00.000Z' },
    runId: 'run-1',
    totals: { ...emptyCounters(), inserted: 2 },
    approved: false,
    ok,
    evidence: { warnings: ['w'] },
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });

  it('ends an unfinished reconciliation deleting nothing, with the drift it repaired as evidence', async () => {
    const { store, methods } = recordingStore();
    const ended = await RUN_MODES.reconcile.end!({ ...ending(store, false), request: { mode: 'reconcile' } });
    expect(ended).toEqual({
      evidence: { kind: 'reconcile', completed: false, drift: { inserted: 2, updated: 0, deleted: 0 } },
    });
    expect(methods()).toEqual(['dropScan', 'resetCheckpoint']);
  });

  it('ends a completed reconciliation that would delete too much paused, deleting nothing', async () => {
    const { store, methods } = recordingStore({ countUnseen: () => ({ live: 10, unseen: 5 }) });
    const ended = await RUN_MODES.reconcile.end!({ ...ending(store, true), request: { mode: 'reconcile' } });
    expect(ended.paused?.message).toMatch(/would delete 5 of 10 live records/);
    expect(methods()).not.toContain('completeScan');
  });

  it("clears a backfill's slot when it finished, and keeps it to resume from when it did not", async () => {
    const request = {
      mode: 'backfill',
      range: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
    } as const;
    const done = recordingStore();
    expect(await RUN_MODES.backfill.end!({ ...ending(done.store, true), request })).toEqual({
      evidence: { warnings: ['w'] },
    });
    expect(done.calls.map((c) => [c.method, c.args[0], c.args[2]])).toEqual([
      ['resetCheckpoint', 'people', 'backfill'],
    ]);
    const stopped = recordingStore();
    await RUN_MODES.backfill.end!({ ...ending(stopped.store, false), request });
    expect(stopped.calls).toEqual([]);
  });

  it('records what a refresh asked for and what it found nowhere; the other modes keep the breaker evidence', () => {
    const { store } = recordingStore();
    const evidence = RUN_MODES.refresh.evidence!({
      request: { mode: 'refresh', keys: ['1', '99'] },
      stream: stream(),
      store,
      absent: ['99'],
    });
    expect(evidence).toEqual({ kind: 'refresh', requested: 2, notFound: ['99'] });
    const others = (['sync', 'reconcile', 'backfill', 'replay'] as const).filter(
      (m) => RUN_MODES[m].evidence,
    );
    expect(others).toEqual([]);
  });
});
