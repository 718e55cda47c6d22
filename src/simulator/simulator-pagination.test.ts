import { describe, expect, it } from 'vitest';
import {
  getJson,
  type ListedRecord,
  rawGet,
  simulatorsForEachTest,
  walkKeyset,
  walkPagesNaively,
} from './simulator-test-client.ts';

const start = simulatorsForEachTest();

const only = (kind: string) => ({
  mix: { insert: 0, update: 0, backdate: 0, burst: 0, softDelete: 0, hardDelete: 0, [kind]: 1 },
});

interface Body {
  data: ListedRecord[];
  has_more: boolean;
  total?: number;
}

describe('simulator pagination', () => {
  it('makes a naive page-number walk skip and repeat records while the data changes', async () => {
    const sim = await start({
      seed: 5,
      datasets: { customers: 1000 },
      mutations: { mix: { insert: 1, update: 2, hardDelete: 1, backdate: 0, burst: 0, softDelete: 0 } },
    });
    const before = sim.groundTruth('customers');
    const seen = await walkPagesNaively(sim.url, 'customers', 100, () => sim.mutate(15));
    const after = sim.groundTruth('customers');
    const counts = new Map<string, number>();
    for (const r of seen) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    const repeated = [...counts].filter(([, n]) => n > 1).length;
    // Records live from start to end that the walk never saw: a correct client cannot miss these.
    const skipped = [...before.live.keys()].filter((key) => after.live.has(key) && !counts.has(key)).length;
    expect(repeated).toBeGreaterThan(0);
    expect(skipped).toBeGreaterThan(0);
  });

  it('orders page and offset styles by rank, ascending or newest first, with totals', async () => {
    const sim = await start({ seed: 2, datasets: { orders: 250 } });
    const asc = await getJson<Body>(`${sim.url}/v1/orders?style=offset&offset=240&limit=100`);
    expect(asc.data).toHaveLength(10);
    expect(asc.has_more).toBe(false);
    expect(asc.total).toBe(250);
    const desc = await getJson<Body>(`${sim.url}/v1/orders?style=page&page=1&per_page=10&sort=-updated_at`);
    expect(desc.data.map((r) => r.id)).toEqual([...asc.data].reverse().map((r) => r.id));
    const head = await rawGet(`${sim.url}/v1/orders?style=page`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['x-total-count']).toBe('250');
    expect(head.headers.etag).toBeDefined();
  });

  it('pages keyset style through a burst of identical updated_at that spans page boundaries, missing nothing', async () => {
    const sim = await start({
      seed: 9,
      datasets: { customers: 4000 },
      mutations: { ...only('burst'), burstSize: 2500 },
    });
    sim.mutate(1);
    const pages: ListedRecord[][] = [];
    const walked = await walkKeyset(sim.url, 'customers', 1000, undefined, (page) => pages.push(page));
    const lastPage = pages[pages.length - 1]!;
    const tie = lastPage[lastPage.length - 1]!.updated_at;
    const tied = walked.filter((r) => r.updated_at === tie);
    expect(tied.length).toBeGreaterThan(1000);
    // A page boundary falls inside the tie group.
    expect(
      pages.some((p, i) => i > 0 && p[0]!.updated_at === tie && pages[i - 1]!.at(-1)!.updated_at === tie),
    ).toBe(true);
    expect(new Set(walked.map((r) => r.id)).size).toBe(walked.length);
    expect(walked).toHaveLength(sim.groundTruth('customers').live.size);

    // A naive ">=" client that resumes from the last updated_at alone never gets past the tie group.
    const first = await getJson<Body>(
      `${sim.url}/v1/customers?style=keyset-gte&updated_since=${tie}&limit=1000`,
    );
    const again = await getJson<Body>(
      `${sim.url}/v1/customers?style=keyset-gte&updated_since=${first.data.at(-1)!.updated_at}&limit=1000`,
    );
    expect(again.data.map((r) => r.id)).toEqual(first.data.map((r) => r.id));
    // With offset inside the tie group it gets through.
    const second = await getJson<Body>(
      `${sim.url}/v1/customers?style=keyset-gte&updated_since=${tie}&offset=1000&limit=1000`,
    );
    expect(second.data.map((r) => r.id)).toEqual(tied.slice(1000, 2000).map((r) => r.id));
  });

  it('hides backdated updates from a client that resumes after its watermark', async () => {
    const sim = await start({ seed: 4, datasets: { customers: 1500 }, mutations: only('backdate') });
    sim.mutate(5); // an ordinary starting point: nothing newer than the walk below
    const first = await walkKeyset(sim.url, 'customers', 1000);
    const last = first.at(-1)!;
    const versions = new Map(first.map((r) => [r.id, r.version]));
    sim.mutate(40);
    const later = await walkKeyset(sim.url, 'customers', 1000, { updatedAt: last.updated_at, id: last.id });
    expect(later).toHaveLength(0);
    const changed = [...sim.groundTruthEntries('customers')].filter((e) => e.version !== versions.get(e.id));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((e) => e.updatedAt <= last.updated_at)).toBe(true);
  });

  it('lists hard deletes in the tombstone feed, pages it, and removes them from lists', async () => {
    const sim = await start({ seed: 6, datasets: { customers: 500 }, mutations: only('hardDelete') });
    sim.mutate(10);
    const feed: { id: string; deleted_at: string }[] = [];
    let q = '';
    for (;;) {
      const body = await getJson<{ data: { id: string; deleted_at: string }[]; has_more: boolean }>(
        `${sim.url}/v1/customers/deleted?limit=3${q}`,
      );
      feed.push(...body.data);
      const last = body.data.at(-1);
      if (!body.has_more || !last) break;
      q = `&since=${last.deleted_at}&after_id=${last.id}`;
    }
    expect(feed).toHaveLength(10);
    expect(new Set(feed.map((t) => t.id))).toEqual(new Set(sim.groundTruth('customers').deleted.keys()));
    expect((await rawGet(`${sim.url}/v1/customers/${feed[0]!.id}`)).status).toBe(404);
    const listed = await walkKeyset(sim.url, 'customers', 1000);
    expect(listed.some((r) => feed.some((t) => t.id === r.id))).toBe(false);
  });

  it('follows Link rel="next" headers and time windows to the same records as keyset', async () => {
    const sim = await start({ seed: 8, datasets: { candles: 3000 } });
    const all = await walkKeyset(sim.url, 'candles', 1000);
    const linked: ListedRecord[] = [];
    let next: string | undefined = `${sim.url}/v1/candles?style=link&limit=700`;
    while (next) {
      const res = await rawGet(next);
      linked.push(...(JSON.parse(res.body) as ListedRecord[]));
      next = /<([^>]+)>; rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
    }
    expect(linked.map((r) => r.id)).toEqual(all.map((r) => r.id));
    const mid = all[1500]!.updated_at;
    const window = await getJson<Body>(
      `${sim.url}/v1/candles?style=window&from=${all[0]!.updated_at}&to=${mid}&limit=1000&offset=1000`,
    );
    const expected = all.filter((r) => r.updated_at < mid).slice(1000, 2000);
    expect(window.data.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    const btc = await getJson<Body>(`${sim.url}/v1/candles?symbol=BTCUSDT&interval=1m&limit=5`);
    expect(btc.data.every((r) => r.symbol === 'BTCUSDT' && r.interval === '1m')).toBe(true);
    expect((await rawGet(`${sim.url}/v1/candles?symbol=NOPE`)).status).toBe(400);
  });

  it('ranks offset pages in the same order as keyset after every kind of mutation', async () => {
    const sim = await start({
      seed: 12,
      datasets: { customers: 3000, candles: 2000 },
      mutations: { burstSize: 700 },
    });
    await getJson<Body>(`${sim.url}/v1/customers?style=offset&offset=5&limit=5`); // builds the rank tree early
    sim.mutate(400);
    for (const name of ['customers', 'candles']) {
      const keyset = await walkKeyset(sim.url, name, 1000);
      const byOffset: ListedRecord[] = [];
      for (let offset = 0; ; offset += 450) {
        const body = await getJson<Body>(`${sim.url}/v1/${name}?style=offset&offset=${offset}&limit=450`);
        byOffset.push(...body.data);
        if (!body.has_more) break;
      }
      expect(byOffset.map((r) => r.id)).toEqual(keyset.map((r) => r.id));
    }
  });

  it('mutates in the background at the configured rate until told to stop', async () => {
    const sim = await start({
      seed: 13,
      datasets: { orders: 500 },
      mutations: { ratePerSecond: 200, tickMs: 20 },
    });
    await new Promise((r) => setTimeout(r, 300));
    sim.setMutations({ ratePerSecond: 0 });
    const applied = sim.stats().mutations;
    const total =
      applied.insert +
      applied.update +
      applied.backdate +
      applied.burst +
      applied.softDelete +
      applied.hardDelete;
    expect(total).toBeGreaterThan(10);
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.stats().mutations).toEqual(applied);
  });
});
