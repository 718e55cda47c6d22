import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FatalError } from '../../../core/errors.ts';
import type { Json } from '../../../core/types.ts';
import { type SimulatorOptions, type SimulatorServer, startSimulator } from '../../../simulator/index.ts';
import type { PageResponse, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import { createPaginator, type PaginationConfig, type PaginatorOptions } from './create-paginator.ts';

/** Each strategy against the simulator style it is made for. */
interface Case {
  readonly name: string;
  readonly style: string;
  readonly config: PaginationConfig;
}

const NOW = Date.UTC(2024, 5, 1);
const CASES: readonly Case[] = [
  { name: 'cursor', style: 'cursor', config: { type: 'cursor', hasMorePath: 'has_more' } },
  { name: 'link', style: 'link', config: { type: 'link' } },
  {
    name: 'keyset with after_id',
    style: 'keyset',
    config: { type: 'keyset', afterIdParam: 'after_id', hasMorePath: 'has_more' },
  },
  {
    name: 'keyset >= with offset',
    style: 'keyset-gte',
    config: { type: 'keyset', offsetParam: 'offset', hasMorePath: 'has_more' },
  },
  {
    name: 'keyset >= doubling the page',
    style: 'keyset-gte',
    config: { type: 'keyset', hasMorePath: 'has_more' },
  },
  {
    name: 'window',
    style: 'window',
    config: {
      type: 'window',
      window: 200 * 86_400_000,
      start: '2019-12-01T00:00:00Z',
      offsetParam: 'offset',
    },
  },
  {
    name: 'page',
    style: 'page',
    config: { type: 'page', totalPagesPath: 'total_pages', hasMorePath: 'has_more' },
  },
  { name: 'offset', style: 'offset', config: { type: 'offset', overlap: 3, hasMorePath: 'has_more' } },
];

function options(pageSize: number): PaginatorOptions {
  return {
    pageSize,
    pageSizeParam: 'limit',
    sinceParam: 'updated_since',
    cursorField: 'updated_at',
    idField: 'id',
    format: 'iso',
    now: () => NOW,
  };
}

/** GETs the plan from the simulator: `plan.url` as is, or `/v1/<dataset>?style=...` plus the query. */
async function fetchPage(
  sim: SimulatorServer,
  dataset: string,
  style: string,
  plan: RequestPlan,
): Promise<PageResponse> {
  const url = new URL(plan.url ?? `${sim.url}/v1/${dataset}`);
  if (plan.url === undefined) url.searchParams.set('style', style);
  for (const [name, value] of Object.entries(plan.query)) url.searchParams.set(name, value);
  const res = await request(url);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url} -> ${res.statusCode} ${text}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const body: unknown = JSON.parse(text);
  const records = Array.isArray(body) ? body : ((body as { data: unknown[] }).data ?? []);
  return { status: res.statusCode, headers, body, records, url: url.href };
}

interface Walk {
  records: { id: string; updated_at: string }[];
  positions: Json[];
  plans: RequestPlan[];
  handedAfter: number[];
}

async function walk(
  sim: SimulatorServer,
  dataset: string,
  style: string,
  paginator: Paginator,
  first: RequestPlan,
  between: () => void = () => {},
): Promise<Walk> {
  const out: Walk = { records: [], positions: [], plans: [], handedAfter: [] };
  let plan: RequestPlan | null = first;
  for (let n = 0; plan !== null; n++) {
    if (n === 5000) throw new Error('walk did not end');
    if (n > 0) between();
    const step = paginator.next(await fetchPage(sim, dataset, style, plan), plan);
    out.records.push(...(step.records as Walk['records']));
    out.handedAfter.push(out.records.length);
    if (step.next !== null) {
      out.positions.push(step.position);
      out.plans.push(step.next);
    }
    plan = step.next;
  }
  return out;
}

/** Ids of records the simulator serves (live and soft-deleted), in no particular order. */
function servedIds(sim: SimulatorServer, dataset: string): Set<string> {
  const ids = new Set<string>();
  for (const e of sim.groundTruthEntries(dataset)) if (e.status !== 'hard_deleted') ids.add(e.id);
  return ids;
}

function expectExactlyOnce(records: readonly { id: string }[], truth: Set<string>): void {
  const ids = records.map((r) => r.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(truth);
}

const running: SimulatorServer[] = [];
async function start(opts: SimulatorOptions): Promise<SimulatorServer> {
  const sim = await startSimulator({ port: 0, ...opts });
  running.push(sim);
  return sim;
}
afterAll(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

const ONLY = { insert: 0, update: 0, backdate: 0, burst: 0, softDelete: 0, hardDelete: 0 };

describe('paginators against the simulator, data at rest', () => {
  let sim: SimulatorServer;
  beforeAll(async () => {
    sim = await start({ seed: 11, datasets: { customers: 1500 } });
  });

  for (const c of CASES) {
    it(`${c.name}: walks every served record exactly once, and resumes at every page to the same records`, async () => {
      const pageSize = 130;
      const p = createPaginator(c.config, options(pageSize));
      const full = await walk(sim, 'customers', c.style, p, p.first(null));
      expectExactlyOnce(full.records, servedIds(sim, 'customers'));
      expect(full.positions.length).toBeGreaterThan(5);
      for (const [i, position] of full.positions.entries()) {
        const resumed = createPaginator(c.config, options(pageSize));
        const plan = resumed.resume(JSON.parse(JSON.stringify(position)) as Json);
        expect(plan).toEqual(full.plans[i]);
        const rest = await walk(sim, 'customers', c.style, resumed, plan);
        const ids = [...full.records.slice(0, full.handedAfter[i]), ...rest.records].map((r) => r.id);
        expect(ids).toEqual(full.records.map((r) => r.id));
      }
    });
  }
});

describe('keyset through a burst of identical updated_at across page boundaries', () => {
  let sim: SimulatorServer;
  let capped: SimulatorServer;
  let burstAt: string;
  const simOptions = {
    seed: 9,
    datasets: { customers: 4000 },
    mutations: { mix: { ...ONLY, burst: 1 }, burstSize: 2500 },
    clock: () => Date.UTC(2024, 2, 1),
  } satisfies SimulatorOptions;
  beforeAll(async () => {
    sim = await start({ ...simOptions, maxPageSize: 10_000 });
    capped = await start(simOptions);
    sim.mutate(1);
    capped.mutate(1);
    burstAt = new Date(Date.UTC(2024, 2, 1)).toISOString();
  });

  const keysets = CASES.filter((c) => c.config.type === 'keyset');
  for (const c of keysets) {
    it(`${c.name}: hands over every record exactly once`, async () => {
      const p = createPaginator(c.config, options(1000));
      const full = await walk(sim, 'customers', c.style, p, p.first(null));
      expectExactlyOnce(full.records, servedIds(sim, 'customers'));
      // The burst draws 2500 records with replacement: more than a page of distinct ones.
      const tied = full.records.filter((r) => r.updated_at === burstAt).length;
      expect(tied).toBeGreaterThan(1000);
      expect(tied).toBe(
        [...sim.groundTruthEntries('customers')].filter((e) => e.updatedAt === burstAt).length,
      );
    });

    it(`${c.name}: starts strictly after a watermark inside the burst`, async () => {
      const truth = [...sim.groundTruthEntries('customers')]
        .filter((e) => e.updatedAt === burstAt)
        .map((e) => e.id)
        .sort();
      const afterId = truth[1234]!;
      const start: PassStart = { param: burstAt, cursor: burstAt, afterId };
      const p = createPaginator(c.config, options(1000));
      const got = await walk(sim, 'customers', c.style, p, p.first(start));
      expect(got.records.map((r) => r.id)).toEqual(truth.slice(1235));
    });
  }

  it('keyset >= with offset pages through the burst even where the API caps the page size', async () => {
    const c = keysets.find((k) => k.name === 'keyset >= with offset')!;
    const p = createPaginator(c.config, options(1000));
    const full = await walk(capped, 'customers', c.style, p, p.first(null));
    expectExactlyOnce(full.records, servedIds(capped, 'customers'));
  });

  it('keyset >= doubling the page throws, naming the value, where the API caps the page size', async () => {
    for (const config of [
      { type: 'keyset', hasMorePath: 'has_more' },
      { type: 'keyset' },
    ] satisfies PaginationConfig[]) {
      const p = createPaginator(config, options(1000));
      const walking = walk(capped, 'customers', 'keyset-gte', p, p.first(null));
      await expect(walking).rejects.toThrow(FatalError);
      await expect(walk(capped, 'customers', 'keyset-gte', p, p.first(null))).rejects.toThrow(burstAt);
    }
  });
});

describe('page and offset walks while the data changes', () => {
  /** Records served from start to end that the walk never saw: a correct walk misses none. */
  async function missed(c: Case): Promise<number> {
    let t = Date.UTC(2024, 2, 1);
    const sim = await start({
      seed: 21,
      datasets: { customers: 2000 },
      mutations: { mix: { ...ONLY, update: 2, hardDelete: 2, insert: 1 } },
      clock: () => (t += 1000),
    });
    const before = servedIds(sim, 'customers');
    const p = createPaginator(c.config, options(100));
    const seen = await walk(sim, 'customers', c.style, p, p.first(null), () => sim.mutate(3));
    const after = servedIds(sim, 'customers');
    const ids = new Set(seen.records.map((r) => r.id));
    return [...before].filter((id) => after.has(id) && !ids.has(id)).length;
  }

  it('skip records, and an offset overlap makes that no worse (usually much better)', async () => {
    const page = await missed({
      name: 'page',
      style: 'page',
      config: { type: 'page', hasMorePath: 'has_more' },
    });
    const offset = await missed({
      name: 'o0',
      style: 'offset',
      config: { type: 'offset', hasMorePath: 'has_more' },
    });
    const overlapped = await missed({
      name: 'o5',
      style: 'offset',
      config: { type: 'offset', overlap: 5, hasMorePath: 'has_more' },
    });
    expect(page).toBeGreaterThan(0);
    expect(offset).toBeGreaterThan(0);
    expect(overlapped).toBeLessThanOrEqual(offset);
  });
});
