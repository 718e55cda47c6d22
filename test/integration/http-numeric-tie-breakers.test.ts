import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { type RunResult, runStream } from '../../src/engine/stream-runner.ts';
import type { HttpStreamConfig } from '../../src/sources/http/http-stream-config.ts';
import { http } from '../../src/sources/http/index.ts';
import type { KeysetPagination } from '../../src/sources/http/paginators/create-paginator.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface Person {
  id: number;
  name: string;
  updated_at: string;
}

const T0 = '2024-03-01T10:00:00.000Z';
const T1 = '2024-03-01T11:00:00.000Z';

/**
 * A list API as most are: numeric ids, sorted by `(updated_at, id)` with ids compared as numbers
 * (or as text, with `idsAsText`), filtering `updated_at >= updated_since`, and either
 * `(updated_at, id) > (updated_since, after_id)` when `after_id` is given or skipping `offset`.
 */
async function peopleApi(people: Person[], idsAsText = false) {
  let requests = 0;
  const byId = (a: Person, b: Person) => (idsAsText ? String(a.id).localeCompare(String(b.id)) : a.id - b.id);
  const server: Server = createServer((req, res) => {
    requests++;
    const q = new URL(req.url!, 'http://x').searchParams;
    const since = q.get('updated_since');
    const afterId = q.get('after_id');
    const sorted = [...people].sort((a, b) => a.updated_at.localeCompare(b.updated_at) || byId(a, b));
    let rows = since === null ? sorted : sorted.filter((p) => p.updated_at >= since);
    if (since !== null && afterId !== null) {
      const after = { id: Number(afterId), updated_at: since, name: '' };
      rows = rows.filter((p) => p.updated_at > since || byId(p, after) > 0);
    }
    const offset = Number(q.get('offset') ?? 0);
    const limit = Number(q.get('limit') ?? 100);
    const data = rows.slice(offset, offset + limit);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data, has_more: offset + limit < rows.length }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests: () => requests,
    close: () => new Promise((done) => server.close(done)),
  };
}

const MODES: Record<string, KeysetPagination> = {
  after_id: { type: 'keyset', afterIdParam: 'after_id', hasMorePath: 'has_more' },
  '>= with offset': { type: 'keyset', offsetParam: 'offset', hasMorePath: 'has_more' },
  '>= doubling the page': { type: 'keyset', hasMorePath: 'has_more' },
};

describe('keyset pagination over numeric ids', () => {
  let t: TestStore;
  let api: Awaited<ReturnType<typeof peopleApi>> | null = null;
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
  });
  afterEach(async () => {
    await api?.close();
    api = null;
    await t.dispose();
  });

  function stream(
    url: string,
    pagination: KeysetPagination,
    incremental: HttpStreamConfig['incremental'] = {},
  ) {
    return http.stream({
      name: 'people',
      key: 'id',
      cursor: 'updated_at',
      request: { baseUrl: url, path: '/people' },
      records: 'data',
      pagination,
      pageSize: 4,
      incremental: { param: 'updated_since', ...incremental },
    });
  }

  function run(definition: AnyStreamDefinition): Promise<RunResult> {
    return runStream({
      store: t.store,
      stream: definition,
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: silent,
      options: { retry: { baseDelayMs: 5, maxDelayMs: 50, minDelayMs: 1 } },
    });
  }

  async function storedIds(): Promise<number[]> {
    const rows = await t.store.scanRecords('people', { limit: 1000 });
    return rows.map((r) => Number(r.key)).sort((a, b) => a - b);
  }

  it.each(Object.keys(MODES))(
    'syncs ids 1..130 sharing one updated_at, across 9 -> 10 and 99 -> 100, then only what changed (%s)',
    async (mode) => {
      const people = Array.from({ length: 130 }, (_, i) => ({
        id: i + 1,
        name: `p${i + 1}`,
        updated_at: T0,
      }));
      api = await peopleApi(people);
      const first = await run(stream(api.url, MODES[mode]!));
      expect(first.error).toBeNull();
      expect(first.counters.inserted).toBe(130);
      expect(await storedIds()).toEqual(people.map((p) => p.id));

      // Three records change later; the next run resumes after (T0, 130) and must get them all.
      for (const id of [5, 10, 100])
        Object.assign(people[id - 1]!, { name: `changed ${id}`, updated_at: T1 });
      const second = await run(stream(api.url, MODES[mode]!));
      expect(second.error).toBeNull();
      expect(second.counters).toMatchObject({ inserted: 0, updated: 3 });
      const rows = await t.store.scanRecords('people', { limit: 1000 });
      const changed = rows
        .filter((r) => (r.data as { name: string }).name.startsWith('changed'))
        .map((r) => r.key);
      expect(changed.sort()).toEqual(['10', '100', '5']);
    },
  );

  it("pages an API that sorts its ids as text when told tieBreakerType: 'string', and stops clearly when not", async () => {
    const people = Array.from({ length: 30 }, (_, i) => ({ id: i + 1, name: `p${i + 1}`, updated_at: T0 }));
    api = await peopleApi(people, true);
    const pagination = MODES['>= with offset']!;
    const unsaid = await run(stream(api.url, pagination));
    expect(unsaid.status).toBe('failed');
    expect(unsaid.error).toMatch(
      /listed \(2024-03-01T10:00:00\.000Z, 1[0-9]?\) before .* with ids compared as numbers.*tieBreakerType/,
    );
    const told = await run(stream(api.url, pagination, { tieBreakerType: 'string' }));
    expect(told.error).toBeNull();
    expect(await storedIds()).toEqual(people.map((p) => p.id));
  });
});
