import { ConfigError, FatalError } from '../../../core/errors.ts';
import { tieBreakerOrder } from '../../../core/tie-breaker.ts';
import type { Json } from '../../../core/types.ts';
import { compareWatermarks } from '../../../core/watermark.ts';
import { compareCursorText, formatCursorText } from '../cursor-format.ts';
import type { PageResponse, PageStep, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import type { KeysetPagination, PaginatorOptions } from './create-paginator.ts';
import {
  isLastPage,
  positionCount,
  positionObject,
  positionText,
  readHasMore,
  readText,
  sizeQuery,
} from './pagination-signals.ts';

/** Where the next request starts; stored as the position. */
interface KeysetState {
  /** Cursor text of the watermark (the lower bound of the next request); null: from the beginning. */
  readonly cursor: string | null;
  /** Id of the watermark; null: start at `cursor` inclusive (nothing handed over there yet). */
  readonly id: string | null;
  /** `>=`-only APIs: records at exactly `cursor` the API gives before the next unseen one. */
  readonly offset: number;
  /** Records asked for: `pageSize`, or more while doubling inside a tie group (no offsetParam). */
  readonly limit: number;
}

interface Tuple {
  readonly cursor: string;
  readonly id: string;
}

/** The largest page doubling asks for, unless `pageSize` is larger: bounds memory per page. */
const DOUBLING_CAP = 10_000;

/**
 * A watermark `(cursor, id)` sent back to the API (semantics 2 of ARCHITECTURE.md).
 *
 * With `afterIdParam` the API returns `(cursor, id) > (since, afterId)` and the continuation is the
 * last record's tuple. Without it the API filters only `cursor >= since`: the walk asks from the
 * watermark's cursor value and drops what is `<=` the watermark (`compareWatermarks`: cursors
 * compared as times when both parse, ids by `compareTieBreaker`, which must be the API's order: it
 * is checked on every page). A tie
 * group larger than a page is paged with `offsetParam` (records at exactly that value already
 * seen) or, without one, by doubling the page size until the group fits; when neither can make
 * progress it throws rather than loop or skip.
 */
export class KeysetPaginator implements Paginator {
  readonly incremental = true;
  private readonly sinceParam: string;
  private readonly cursorField: string;
  private readonly idField: string;
  private readonly gteOnly: boolean;
  private readonly cap: number;
  private state: KeysetState;

  constructor(
    private readonly config: KeysetPagination,
    private readonly options: PaginatorOptions,
  ) {
    const { sinceParam, cursorField, idField } = options;
    if (sinceParam === null || cursorField === null || idField === null) {
      throw new ConfigError(
        'keyset pagination needs a since-parameter, a cursor field and an id field (the tie-breaker)',
      );
    }
    this.sinceParam = sinceParam;
    this.cursorField = cursorField;
    this.idField = idField;
    this.gteOnly = config.afterIdParam === undefined;
    let cap = options.pageSize;
    // Powers of two times pageSize, so a short answer of such a size betrays a capped page size.
    while (cap * 2 <= DOUBLING_CAP) cap *= 2;
    this.cap = cap;
    this.state = this.initial(null, null);
  }

  first(start: PassStart | null): RequestPlan {
    this.state = this.initial(start?.cursor ?? null, start?.afterId ?? null);
    return this.plan(this.state, start?.param);
  }

  resume(position: Json): RequestPlan {
    const p = positionObject('keyset', position);
    this.state = {
      cursor: positionText('keyset', p, 'cursor', true),
      id: positionText('keyset', p, 'id', true),
      offset: positionCount('keyset', p, 'offset'),
      limit: Math.max(1, positionCount('keyset', p, 'limit')),
    };
    return this.plan(this.state);
  }

  next(page: PageResponse, request: RequestPlan): PageStep {
    const s = this.state;
    const raw = page.records;
    const watermark: Tuple | null =
      s.cursor !== null && s.id !== null ? { cursor: s.cursor, id: s.id } : null;
    const records: unknown[] = [];
    let last: Tuple | null = null;
    let previous: Tuple | null = null;
    for (const record of raw) {
      const cursor = readText(record, this.cursorField);
      const id = readText(record, this.idField);
      if (cursor === null || id === null) {
        records.push(record); // cannot be placed: handed over, but it cannot move the watermark
        continue;
      }
      const tuple = { cursor, id };
      if (this.gteOnly) {
        const idType = this.options.tieBreakerType;
        if (previous !== null && compareWatermarks(previous, tuple, idType) > 0)
          throw this.orderError(previous, tuple);
        previous = tuple;
        if (watermark !== null && compareWatermarks(tuple, watermark, idType) <= 0) continue; // handed over already
      }
      records.push(record);
      last = tuple;
    }
    const hasMore = readHasMore(page.body, this.config.hasMorePath);
    const lastPage = isLastPage(hasMore, raw.length, s.limit);
    const cursor = last?.cursor ?? s.cursor;
    const same = (a: string | null, b: string | null) =>
      a !== null && b !== null && compareCursorText(a, b) === 0;
    const tied = raw.filter((r) => same(readText(r, this.cursorField), cursor)).length;
    if (this.gteOnly && this.config.offsetParam === undefined && s.limit > this.options.pageSize) {
      this.checkDoubledAnswer(hasMore, raw.length, s, cursor);
    }
    if (lastPage) return { records, next: null, position: null };

    const sameGroup = same(cursor, s.cursor);
    let next: KeysetState;
    if (!this.gteOnly) {
      next = { cursor, id: last?.id ?? s.id, offset: 0, limit: this.options.pageSize };
    } else if (this.config.offsetParam !== undefined) {
      const offset = (sameGroup ? s.offset : 0) + tied;
      next = { cursor, id: last?.id ?? s.id, offset, limit: this.options.pageSize };
    } else {
      // The API answers from the start of the group every time; `offset` only counts what is known.
      const known = Math.max(sameGroup ? s.offset : 0, tied);
      const wholePageTied = tied === raw.length && raw.length >= s.limit;
      const base = sameGroup ? s.limit : this.options.pageSize;
      const limit = wholePageTied ? this.grow(base, known, cursor) : base;
      next = { cursor, id: last?.id ?? s.id, offset: known, limit };
    }
    const plan = this.plan(next);
    // The same request again gets the same answer, all of it handed over by now: a loop.
    if (sameQuery(plan, request)) {
      throw new FatalError(
        `keyset pagination made no progress at ${this.cursorField} = ${cursor ?? '(start)'}: the next ` +
          `request would repeat ${JSON.stringify(request.query)} (does the API ignore the watermark?)`,
      );
    }
    this.state = next;
    return { records, next: plan, position: { ...next } };
  }

  private initial(cursor: string | null, id: string | null): KeysetState {
    return { cursor, id, offset: 0, limit: this.options.pageSize };
  }

  private plan(s: KeysetState, since?: string): RequestPlan {
    const query = sizeQuery(this.options, s.limit);
    if (s.cursor !== null) query[this.sinceParam] = since ?? formatCursorText(s.cursor, this.options.format);
    if (!this.gteOnly && s.id !== null) query[this.config.afterIdParam!] = s.id;
    if (this.config.offsetParam !== undefined && this.gteOnly && s.offset > 0) {
      query[this.config.offsetParam] = String(s.offset);
    }
    return { query };
  }

  /** Doubles the limit until it exceeds the records known at this cursor value, or throws at the cap. */
  private grow(limit: number, known: number, cursor: string | null): number {
    let next = Math.min(this.cap, limit * 2);
    while (next <= known && next < this.cap) next = Math.min(this.cap, next * 2);
    if (next <= known) {
      throw new FatalError(
        `keyset pagination: at least ${known} records share ${this.cursorField} = ${cursor}, more than the ` +
          `largest page it asks for (${this.cap}); configure offsetParam or afterIdParam to page inside the tie group`,
      );
    }
    return next;
  }

  /**
   * A doubled request answered short without a has-more flag is ambiguous: the end of the data,
   * or an API that caps the page size silently (and then the rest of the tie group would be
   * skipped). A size of pageSize * 2^j is what an earlier full answer had: read as a cap.
   */
  private checkDoubledAnswer(
    hasMore: boolean | undefined,
    received: number,
    s: KeysetState,
    cursor: string | null,
  ) {
    if (hasMore !== undefined || received === 0 || received >= s.limit) return;
    let size = this.options.pageSize;
    while (size < received) size *= 2;
    if (size !== received) return;
    throw new FatalError(
      `keyset pagination: asked for ${s.limit} records at ${this.cursorField} = ${cursor} and got ${received}; ` +
        `the API seems to cap the page size, so the tie group of at least ${s.offset} records cannot be paged ` +
        'by larger pages: configure offsetParam, or hasMorePath so the end of the data can be told apart',
    );
  }

  private orderError(a: Tuple, b: Tuple): FatalError {
    const order = tieBreakerOrder(a.id, b.id, this.options.tieBreakerType);
    return new FatalError(
      `keyset pagination: the API listed (${a.cursor}, ${a.id}) before (${b.cursor}, ${b.id}), which is not ` +
        `(${this.cursorField}, ${this.idField}) order with ids compared ${order}; dropping records already ` +
        'handed over by that order could skip records: ask the API to sort by both fields (often ' +
        `sort=${this.cursorField},${this.idField} or the like), set incremental.tieBreakerType if it orders ` +
        'the ids the other way (number or string), or configure afterIdParam',
    );
  }
}

function sameQuery(a: RequestPlan, b: RequestPlan): boolean {
  const ka = Object.keys(a.query);
  if (a.url !== b.url || ka.length !== Object.keys(b.query).length) return false;
  return ka.every((k) => a.query[k] === b.query[k]);
}
