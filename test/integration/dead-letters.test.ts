import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveConfig } from '../../src/config/load-config.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Page, SourceArgs } from '../../src/core/source.ts';
import { type AnyStreamDefinition, defineStream } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { runStreams } from '../../src/runtime/run-streams.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface Person {
  id: number;
  email: string;
  updated_at: string;
  version: number;
}

function person(id: number, over: Partial<Person> = {}): Person {
  return {
    id,
    email: `p${id}@example.com`,
    updated_at: new Date(Date.parse('2026-01-01T00:00:00Z') + id * 1000).toISOString(),
    version: 1,
    ...over,
  };
}

/**
 * An incremental source over a mutable list: records whose `updated_at` is after the checkpoint's,
 * ordered by it, `pageSize` a page. Changing `data` between runs is the source changing.
 */
function incrementalSource(data: { records: Person[] }, pageSize = 10) {
  return async function* (args: SourceArgs): AsyncGenerator<Page<Person>> {
    const since = (args.checkpoint as { since?: string } | null)?.since ?? '';
    const rows = data.records
      .filter((r) => r.updated_at > since)
      .sort((a, b) => a.updated_at.localeCompare(b.updated_at));
    for (let i = 0; i < rows.length; i += pageSize) {
      const page = rows.slice(i, i + pageSize);
      yield { records: page, checkpoint: { since: page.at(-1)!.updated_at } };
    }
  };
}

const Strict = z.object({ id: z.number(), email: z.email(), updated_at: z.string(), version: z.number() });

describe.each(STORE_KINDS)('dead letters on %s', (kind) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await makeTestStore(kind);
  });
  afterEach(async () => {
    await t.dispose();
  });

  function run(
    def: AnyStreamDefinition,
    mode: 'sync' | 'reconcile' | 'replay' = 'sync',
    extra: { letters?: number[]; log?: Logger } = {},
  ) {
    return runStream({
      store: t.store,
      stream: def,
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: extra.log ?? silent,
      options: {
        request:
          mode === 'replay' ? { mode, ...(extra.letters ? { letters: extra.letters } : {}) } : { mode },
      },
    });
  }

  const people = (
    data: { records: Person[] },
    over: Partial<AnyStreamDefinition> = {},
  ): AnyStreamDefinition => ({
    name: 'people',
    key: 'id',
    cursor: 'updated_at',
    version: 'version',
    source: incrementalSource(data),
    ...over,
  });

  it('stops at a page whose every record lacks the key, leaving the checkpoint, and reads them all once the key is fixed', async () => {
    const data = { records: Array.from({ length: 25 }, (_, i) => person(i + 1)) };
    const wrong = await run(people(data, { key: 'uid' }));
    expect(wrong.status).toBe('failed');
    expect(wrong.error).toContain(
      'every record of a page (10) failed, the same way: key field "uid" is missing',
    );
    expect((await t.store.getState('people'))?.checkpoint).toBeNull();
    expect(await t.store.listDeadLetters({ stream: 'people', limit: 10 })).toEqual([]);
    const fixed = await run(people(data));
    expect(fixed).toMatchObject({
      status: 'ok',
      counters: expect.objectContaining({ inserted: 25, failed: 0 }),
    });
  });

  it('dead-letters a page whose records fail in different ways, and a lone bad record, and goes on', async () => {
    const data = {
      records: [
        person(1, { email: 'not an email' }),
        { ...person(2), id: undefined as unknown as number },
        person(3),
        person(4, { email: 'also bad' }),
      ],
    };
    const result = await run(people(data, { schema: Strict }));
    expect(result).toMatchObject({
      status: 'ok',
      counters: expect.objectContaining({ inserted: 1, failed: 3 }),
    });
  });

  it("resolves a record's letter when the source puts the record right", async () => {
    const data = { records: [person(1), person(2, { email: 'broken' })] };
    const def = people(data, { schema: Strict });
    await run(def);
    expect((await t.store.listStreams())[0]?.openFailures).toBe(1);
    data.records[1] = person(2, { updated_at: '2026-02-01T00:00:00.000Z', version: 2 });
    const fixed = await run(def);
    expect(fixed.counters.inserted).toBe(1);
    expect((await t.store.listStreams())[0]?.openFailures).toBe(0);
    const [letter] = await t.store.listDeadLetters({ stream: 'people', all: true, limit: 10 });
    expect(letter).toMatchObject({ key: '2', status: 'resolved', resolvedRunId: fixed.runId });
  });

  it('keeps one letter, counted, for a rolled-back record re-read by every run', async () => {
    const data = { records: [person(1, { version: 3 })] };
    const def = people(data, {
      source: async function* () {
        yield { records: data.records, checkpoint: null };
      },
    });
    await run(def);
    data.records = [person(1, { version: 2, updated_at: '2026-03-01T00:00:00.000Z' })];
    for (let i = 0; i < 3; i++) await run(def);
    const letters = await t.store.listDeadLetters({ stream: 'people', limit: 10 });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ key: '1', occurrences: 3 });
    expect(letters[0]?.reason).toContain('version went back from 3 to 2');
  });

  it('replays open letters through the normal path once the config is fixed, fenced and counted', async () => {
    const data = {
      records: [person(1), person(2, { email: 'x' }), person(3, { email: 'y' }), person(4, { email: 'z' })],
    };
    await run(people(data, { schema: Strict }));
    const open = await t.store.listDeadLetters({ stream: 'people', limit: 10 });
    expect(open).toHaveLength(3);
    // Still the strict schema: the replay fails again, each letter counts one more occurrence.
    const again = await run(people(data, { schema: Strict }), 'replay');
    expect(again).toMatchObject({
      status: 'ok',
      counters: expect.objectContaining({ failed: 3, inserted: 0 }),
    });
    const counted = await t.store.listDeadLetters({ stream: 'people', limit: 10 });
    expect(counted.map((d) => d.occurrences)).toEqual([2, 2, 2]);
    expect(counted.map((d) => d.id).sort()).toEqual(open.map((d) => d.id).sort());
    // The schema relaxed: replay one letter by id, then the rest.
    const Loose = Strict.extend({ email: z.string() });
    const one = open.find((d) => d.key === '3')!;
    const replayOne = await run(people(data, { schema: Loose }), 'replay', { letters: [one.id] });
    expect(replayOne.counters).toMatchObject({ inserted: 1, failed: 0 });
    expect((await t.store.listDeadLetters({ ids: [one.id], all: true, limit: 1 }))[0]).toMatchObject({
      status: 'replayed',
      resolvedRunId: replayOne.runId,
    });
    const checkpointBefore = (await t.store.getState('people'))?.checkpoint;
    const rest = await run(people(data, { schema: Loose }), 'replay');
    expect(rest.counters).toMatchObject({ inserted: 2, failed: 0 });
    expect(await t.store.listDeadLetters({ stream: 'people', limit: 10 })).toEqual([]);
    expect((await t.store.getState('people'))?.checkpoint).toEqual(checkpointBefore);
    const rows = await t.store.scanRecords('people', { limit: 10 });
    expect(rows.map((r) => r.key)).toEqual(['1', '2', '3', '4']);
    const [replayRun] = await t.store.listRuns({ stream: 'people', limit: 1 });
    expect(replayRun).toMatchObject({ mode: 'replay', status: 'ok' });
  });

  it('replays letters of records that had no key once the key is fixed', async () => {
    const data = { records: [{ ...person(1), uid: 'a' }, person(2), person(3)] };
    // One record has `uid`: the page is not one shared failure, so the others are dead-lettered.
    const first = await run(people(data, { key: 'uid' }));
    expect(first.counters).toMatchObject({ inserted: 1, failed: 2 });
    const letters = await t.store.listDeadLetters({ stream: 'people', limit: 10 });
    expect(letters.every((d) => d.key === null)).toBe(true);
    await t.store.resetCheckpoint('people', new Date().toISOString());
    const replay = await run(people(data), 'replay');
    expect(replay.counters).toMatchObject({ inserted: 2, failed: 0 });
    expect(await t.store.listDeadLetters({ stream: 'people', limit: 10 })).toEqual([]);
  });

  it('says which keys a refresh found neither at the source nor in the store', async () => {
    const data = { records: [person(1)] };
    const def = people(data, {
      fetchByKey: async function* (args: SourceArgs) {
        const keys = args.request.mode === 'refresh' ? args.request.keys : [];
        const found = data.records.filter((r) => keys.includes(String(r.id)));
        const gone = keys.filter((k) => !found.some((r) => String(r.id) === k));
        yield {
          records: found,
          tombstones: gone.map((k) => ({ key: { id: Number(k) }, deletedAt: null })),
          checkpoint: args.checkpoint,
        };
      },
    });
    await run(def);
    const result = await runStream({
      store: t.store,
      stream: def,
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: silent,
      options: { request: { mode: 'refresh', keys: ['1', '99'] } },
    });
    expect(result.status).toBe('ok');
    expect(result.evidence).toEqual({ kind: 'refresh', requested: 2, notFound: ['99'] });
  });

  it('warns once and records it when the cursor field is missing from every record', async () => {
    const warnings: string[] = [];
    const log: Logger = { ...silent, warn: (_obj, msg) => void warnings.push(String(msg)) };
    const data = { records: Array.from({ length: 25 }, (_, i) => person(i + 1)) };
    const result = await run(people(data, { cursor: 'modified' }), 'sync', { log });
    expect(result.status).toBe('ok');
    expect(warnings.filter((w) => w.includes('cursor field is missing'))).toHaveLength(1);
    expect(result.evidence).toMatchObject({ warnings: [expect.stringContaining('cursor field "modified"')] });
    const [last] = await t.store.listRuns({ stream: 'people', limit: 1 });
    expect(last?.evidence).toMatchObject({
      warnings: [expect.stringContaining('is missing from every record')],
    });
  });
});

describe('reconcile.fullRefresh', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('still knows the last reconciliation after more than 200 runs since', async () => {
    const config = resolveConfig({
      streams: [
        defineStream({
          name: 'people',
          key: 'id',
          reconcile: { fullRefresh: '1d' },
          async *source() {
            yield { records: [person(1)], checkpoint: null };
          },
        }),
      ],
    });
    const args = { config, store: t.store, events: new SyncEventBus(), log: silent };
    await runStreams(args); // the first sync reconciles: there was no reconciliation yet
    for (let i = 0; i < 205; i++) await runStreams(args);
    const reconciliations = await t.store.listRuns({ stream: 'people', mode: 'reconcile', limit: 10 });
    expect(reconciliations).toHaveLength(1);
  }, 60_000);

  it('runs a stream named twice once', async () => {
    const config = resolveConfig({
      streams: [
        defineStream({
          name: 'people',
          key: 'id',
          async *source() {
            yield { records: [person(1)], checkpoint: null };
          },
        }),
      ],
    });
    const outcomes = await runStreams({
      config,
      store: t.store,
      only: ['people', 'people'],
      events: new SyncEventBus(),
      log: silent,
    });
    expect(outcomes.map((o) => [o.stream, o.status])).toEqual([['people', 'ok']]);
  });
});
