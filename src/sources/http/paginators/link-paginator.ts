import { FatalError } from '../../../core/errors.ts';
import type { Json } from '../../../core/types.ts';
import type { PageResponse, PageStep, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import type { PaginatorOptions } from './create-paginator.ts';
import { findLink } from './link-header.ts';
import { badPosition, sizeQuery } from './pagination-signals.ts';

/**
 * `Link: <url>; rel="next"` (GitHub-like): the API names the absolute URL of the next page, which
 * keeps the filters and page size of the first request. The pass ends when no next link comes back.
 * Position: the next URL.
 */
export class LinkPaginator implements Paginator {
  readonly incremental: boolean;

  constructor(private readonly options: PaginatorOptions) {
    this.incremental = options.sinceParam !== null;
  }

  first(start: PassStart | null): RequestPlan {
    const query = sizeQuery(this.options);
    if (start !== null) {
      if (this.options.sinceParam === null) {
        throw new FatalError('link pagination cannot start at a cursor value: no sinceParam is configured');
      }
      query[this.options.sinceParam] = start.param;
    }
    return { query };
  }

  resume(position: Json): RequestPlan {
    if (typeof position !== 'string' || !URL.canParse(position)) throw badPosition('link', position);
    return { url: position, query: {} };
  }

  next(page: PageResponse, _request: RequestPlan): PageStep {
    const url = findLink(page.headers.link, 'next', page.url);
    if (url === null) return { records: page.records, next: null, position: null };
    if (url === page.url) {
      throw new FatalError(
        `link pagination: the next link of ${page.url} points at itself; following it would loop forever`,
      );
    }
    return { records: page.records, next: { url, query: {} }, position: url };
  }
}
