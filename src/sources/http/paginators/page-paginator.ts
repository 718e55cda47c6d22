import { FatalError } from '../../../core/errors.ts';
import type { Json } from '../../../core/types.ts';
import type { PageResponse, PageStep, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import type { PagePagination, PaginatorOptions } from './create-paginator.ts';
import { badPosition, isLastPage, readHasMore, readNumber, sizeQuery } from './pagination-signals.ts';

/**
 * Page numbers from `firstPage` (default 1). The pass ends on an empty page, when the has-more
 * flag says false, after the last of `totalPagesPath` pages, or (when the API gives neither
 * signal) on a page shorter than `pageSize`. Position: the next page number.
 *
 * Unsafe on changing data, like offsets: a page number is a rank, and a record inserted, deleted
 * or moved (an update re-sorts it) before the current rank between two requests shifts every later
 * record by one, so the walk repeats or skips records. Only full passes are possible; prefer a
 * keyset or cursor strategy where the API offers one, or an offset walk with `overlap`.
 */
export class PagePaginator implements Paginator {
  readonly incremental = false;
  private readonly param: string;
  private readonly firstPage: number;
  private page: number;

  constructor(
    private readonly config: PagePagination,
    private readonly options: PaginatorOptions,
  ) {
    this.param = config.param ?? 'page';
    this.firstPage = config.firstPage ?? 1;
    this.page = this.firstPage;
  }

  first(start: PassStart | null): RequestPlan {
    if (start !== null)
      throw new FatalError('page pagination cannot start at a cursor value: full passes only');
    this.page = this.firstPage;
    return this.plan(this.page);
  }

  resume(position: Json): RequestPlan {
    if (typeof position !== 'number' || !Number.isInteger(position) || position < this.firstPage) {
      throw badPosition('page', position);
    }
    this.page = position;
    return this.plan(position);
  }

  next(page: PageResponse, _request: RequestPlan): PageStep {
    const records = page.records;
    const hasMore = readHasMore(page.body, this.config.hasMorePath);
    const totalPages = readNumber(page.body, this.config.totalPagesPath);
    // Page numbers count from firstPage: with firstPage 0, page 4 of 5 is number 4.
    const beyondTotal = totalPages !== undefined && this.page - this.firstPage + 1 >= totalPages;
    const explicit = hasMore ?? (totalPages === undefined ? undefined : !beyondTotal);
    if (beyondTotal || isLastPage(explicit, records.length, this.options.pageSize)) {
      return { records, next: null, position: null };
    }
    this.page += 1;
    return { records, next: this.plan(this.page), position: this.page };
  }

  private plan(page: number): RequestPlan {
    return { query: { ...sizeQuery(this.options), [this.param]: String(page) } };
  }
}
