import { describe, expect, it } from 'vitest';
import { contentHash } from '../core/canonical-json.ts';
import type { SimulatorServer } from './index.ts';
import { getJson, rawGet, simulatorsForEachTest } from './simulator-test-client.ts';

const start = simulatorsForEachTest();

interface Row {
  seq: number;
  id: string;
  deleted?: boolean;
  doc: Record<string, unknown>;
}

interface ChangesBody {
  results: Row[];
  last_seq: number;
  pending: number;
}

/** Reads the feed from `since` to its end; every page's body is kept. */
async function readFeed(sim: SimulatorServer, since: number, limit: number, between?: () => void) {
  const pages: ChangesBody[] = [];
  let at = since;
  for (;;) {
    const body = await getJson<ChangesBody>(`${sim.url}/v1/customers/changes?since=${at}&limit=${limit}`);
    pages.push(body);
    at = body.last_seq;
    if (body.pending === 0) return { pages, rows: pages.flatMap((p) => p.results), last: at };
    between?.();
  }
}

/** The record a row wraps, as the lists serve it: `_id` back to `id`, `_rev` dropped. */
function unwrap(row: Row): Record<string, unknown> {
  const { _id, _rev, ...rest } = row.doc;
  return { id: _id, ...rest };
}

/** Applies feed rows to a map of key -> hash (or 'deleted'), as a correct client would. */
function apply(into: Map<string, string>, rows: readonly Row[]): void {
  for (const row of rows) into.set(row.id, row.deleted ? 'deleted' : contentHash(unwrap(row)));
}

function expected(sim: SimulatorServer): Map<string, string> {
  const truth = new Map<string, string>();
  for (const e of sim.groundTruthEntries('customers'))
    truth.set(e.key, e.status === 'hard_deleted' ? 'deleted' : e.hash!);
  return truth;
}

describe('simulator changes feed', () => {
  it('lists every record once from the start, wrapped as a document, paged by last_seq until pending is 0', async () => {
    const sim = await start({ seed: 3, datasets: { customers: 250 } });
    const { pages, rows, last } = await readFeed(sim, 0, 100);
    expect(pages.map((p) => [p.results.length, p.pending])).toEqual([
      [100, 150],
      [100, 50],
      [50, 0],
    ]);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(last).toBe(250);
    const row = rows[0]!;
    expect(row.doc['_id']).toBe(row.id);
    expect(row.doc['_rev']).toMatch(/^\d+-[0-9a-f]{8}$/);
    expect(row.doc['id']).toBeUndefined();
    const state = new Map<string, string>();
    apply(state, rows);
    expect(state).toEqual(expected(sim));
    // Past the end: an empty page that keeps the position.
    const empty = await getJson<ChangesBody>(`${sim.url}/v1/customers/changes?since=${last}`);
    expect(empty).toEqual({ results: [], last_seq: last, pending: 0 });
  });

  it('gives every change after a position once, at its latest state, deletes as flagged stubs', async () => {
    const sim = await start({
      seed: 4,
      datasets: { customers: 300 },
      mutations: { mix: { insert: 2, update: 3, backdate: 1, burst: 0, softDelete: 1, hardDelete: 2 } },
    });
    const first = await readFeed(sim, 0, 1000);
    const state = new Map<string, string>();
    apply(state, first.rows);
    const counts = sim.mutate(120);
    expect(counts.hardDelete).toBeGreaterThan(5);
    const next = await readFeed(sim, first.last, 50);
    // Each changed record once (a record changed twice is listed at its second change only).
    expect(new Set(next.rows.map((r) => r.id)).size).toBe(next.rows.length);
    expect(next.rows.length).toBeLessThanOrEqual(120);
    expect(next.rows.length).toBeGreaterThan(90);
    const deleted = next.rows.filter((r) => r.deleted);
    expect(deleted.length).toBeGreaterThan(5);
    for (const row of deleted)
      expect(row.doc).toEqual({ _id: row.id, _rev: expect.any(String), _deleted: true });
    expect(next.rows.some((r) => r.doc['deleted'] === true)).toBe(true); // soft deletes: listed records
    apply(state, next.rows);
    expect(state).toEqual(expected(sim));
    // since=now: nothing until the next change.
    const now = await getJson<ChangesBody>(`${sim.url}/v1/customers/changes?since=now`);
    expect(now.results).toEqual([]);
    expect(now.last_seq).toBe(next.last);
  });

  it('moves a record changed behind a reader ahead of it, so a walk under changes misses nothing', async () => {
    const sim = await start({
      seed: 5,
      datasets: { customers: 600 },
      mutations: { mix: { insert: 1, update: 3, backdate: 1, burst: 0, softDelete: 1, hardDelete: 1 } },
    });
    const state = new Map<string, string>();
    const walk = await readFeed(sim, 0, 100, () => sim.mutate(15));
    apply(state, walk.rows);
    expect(state).toEqual(expected(sim));
  });

  it('answers a bad since with 400, and counts and faults the route like the others', async () => {
    const sim = await start({ seed: 6, datasets: { customers: 10 } });
    const bad = await rawGet(`${sim.url}/v1/customers/changes?since=abc`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toMatch(/since=abc is not a sequence number/);
    sim.setFaults({ serverError: 1 });
    const failed = await rawGet(`${sim.url}/v1/customers/changes`);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(sim.stats().requests['GET /v1/customers/changes']).toBe(2);
    expect(sim.stats().faults.serverError).toBe(1);
  });
});
