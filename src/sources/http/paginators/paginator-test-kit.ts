import type { Json } from '../../../core/types.ts';
import { compareCursorText, cursorTimeMs } from '../cursor-format.ts';
import type { PageResponse, Paginator, RequestPlan } from '../http-types.ts';
import type { PaginatorOptions } from './create-paginator.ts';

/**
 * Test helpers for the paginators (used by their unit tests only): an in-memory list API that
 * answers request plans the way the simulator's styles do, and a loop that walks a pass.
 */

export interface FakeRecord {
  readonly id: string;
  readonly updated_at: string;
}

/** Options for the stream the fakes serve: page size `limit`, `updated_since`, `updated_at`, `id`, ISO. */
export function fakeOptions(pageSize: number, patch: Partial<PaginatorOptions> = {}): PaginatorOptions {
  return {
    pageSize,
    pageSizeParam: 'limit',
    sinceParam: 'updated_since',
    cursorField: 'updated_at',
    idField: 'id',
    format: 'iso',
    now: () => Date.UTC(2024, 0, 1),
    ...patch,
  };
}

/** A PageResponse for records with a body and headers. */
export function pageOf(
  records: readonly unknown[],
  body: unknown = { data: records },
  headers = {},
): PageResponse {
  return { status: 200, headers, body, records, url: 'https://api.test/v1/items' };
}

/** `(updated_at, id)` order as the fakes (and the simulator) sort: times as times, ids as text. */
export function byCursorThenId(a: FakeRecord, b: FakeRecord): number {
  return compareCursorText(a.updated_at, b.updated_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * An in-memory list API over `records` (kept sorted). `maxPageSize` caps `limit` silently, as
 * real APIs do.
 */
export class FakeListApi {
  records: FakeRecord[];
  requests = 0;

  constructor(
    records: readonly FakeRecord[],
    private readonly maxPageSize = Number.POSITIVE_INFINITY,
  ) {
    this.records = [...records].sort(byCursorThenId);
  }

  /** `keyset` (with `after_id`) and `keyset-gte` (with `offset`) styles. */
  keyset(plan: RequestPlan): PageResponse {
    const q = plan.query;
    const since = q.updated_since === undefined ? null : q.updated_since;
    const afterId = q.after_id;
    let rows = this.records.filter((r) => {
      if (since === null) return true;
      const c = compareCursorText(r.updated_at, since);
      return afterId === undefined ? c >= 0 : c > 0 || (c === 0 && r.id > afterId);
    });
    rows = rows.slice(Number(q.offset ?? 0));
    return this.answer(rows, plan);
  }

  /** `window` style: `from <= updated_at < to`, then `offset`. */
  window(plan: RequestPlan): PageResponse {
    const from = cursorTimeMs(plan.query.from!)!;
    const to = cursorTimeMs(plan.query.to!)!;
    const rows = this.records.filter((r) => {
      const t = cursorTimeMs(r.updated_at)!;
      return t >= from && t < to;
    });
    return this.answer(rows.slice(Number(plan.query.offset ?? 0)), plan);
  }

  /** `offset` and `page` styles by rank. */
  ranked(plan: RequestPlan): PageResponse {
    const limit = this.limit(plan);
    const start =
      plan.query.page === undefined ? Number(plan.query.offset ?? 0) : (Number(plan.query.page) - 1) * limit;
    return this.answer(this.records.slice(start), plan);
  }

  private limit(plan: RequestPlan): number {
    return Math.min(this.maxPageSize, Number(plan.query.limit ?? 100));
  }

  private answer(rows: readonly FakeRecord[], plan: RequestPlan): PageResponse {
    this.requests++;
    const data = rows.slice(0, this.limit(plan));
    return pageOf(data, { data, has_more: rows.length > data.length });
  }
}

export interface Walk {
  /** Records handed over, in order. */
  readonly records: unknown[];
  /** The position after each page but the last. */
  readonly positions: Json[];
  /** The plan after each page but the last (what `resume(positions[i])` must give). */
  readonly plans: RequestPlan[];
  /** Records handed over up to and including each page. */
  readonly handedAfter: number[];
}

/** Walks a pass from `plan` to its end, at most `maxPages` pages (then throws: a loop). */
export function walkPages(
  paginator: Paginator,
  plan: RequestPlan,
  answer: (plan: RequestPlan) => PageResponse,
  maxPages = 10_000,
): Walk {
  const walk: Walk = { records: [], positions: [], plans: [], handedAfter: [] };
  let current: RequestPlan | null = plan;
  for (let n = 0; current !== null; n++) {
    if (n === maxPages) throw new Error(`walk did not end after ${maxPages} pages`);
    const step = paginator.next(answer(current), current);
    walk.records.push(...step.records);
    walk.handedAfter.push(walk.records.length);
    if (step.next !== null) {
      walk.positions.push(step.position);
      walk.plans.push(step.next);
    }
    current = step.next;
  }
  return walk;
}

/** The ids of records, in order. */
export function ids(records: readonly unknown[]): string[] {
  return records.map((r) => (r as FakeRecord).id);
}
