import { FatalError } from '../../../core/errors.ts';
import { readPath } from '../../../core/field-path.ts';
import type { Json } from '../../../core/types.ts';
import type { PageResponse, PageStep, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import type { CursorPagination, PaginatorOptions } from './create-paginator.ts';
import { badPosition, readHasMore, sizeQuery } from './pagination-signals.ts';

/**
 * An opaque continuation token (Stripe-like): each page names the token of the next one, in the
 * body (`next_cursor`) or a header. The token carries the API's filters, so only the first
 * request of an incremental pass sends the since-parameter.
 *
 * The pass ends on an empty page, when the has-more flag says false, or when no token comes back.
 * Some APIs give a token on the last page too (to poll with later): with a has-more flag that is
 * harmless; without one, the walk asks once more and ends on the empty page. Position: the token.
 */
export class CursorPaginator implements Paginator {
  readonly incremental: boolean;
  private readonly param: string;
  private readonly tokenPath: string;
  private readonly tokenHeader: string | undefined;

  constructor(
    private readonly config: CursorPagination,
    private readonly options: PaginatorOptions,
  ) {
    this.incremental = options.sinceParam !== null;
    this.param = config.param ?? 'cursor';
    this.tokenPath = config.tokenPath ?? 'next_cursor';
    this.tokenHeader = config.tokenHeader?.toLowerCase();
  }

  first(start: PassStart | null): RequestPlan {
    const query = sizeQuery(this.options);
    if (start !== null) {
      if (this.options.sinceParam === null) {
        throw new FatalError('cursor pagination cannot start at a cursor value: no sinceParam is configured');
      }
      // `start.afterId` cannot be expressed: the tie group at `start.cursor` is re-read (hashes make it free).
      query[this.options.sinceParam] = start.param;
    }
    return { query };
  }

  resume(position: Json): RequestPlan {
    if (typeof position !== 'string' || position === '') throw badPosition('cursor', position);
    return this.withToken(position);
  }

  next(page: PageResponse, request: RequestPlan): PageStep {
    const records = page.records;
    const hasMore = readHasMore(page.body, this.config.hasMorePath);
    const token = this.readToken(page);
    const done = { records, next: null, position: null };
    if (records.length === 0 || hasMore === false || token === null) return done;
    if (token === request.query[this.param]) {
      // The API answered with the token it was asked with: asking again would loop forever.
      if (hasMore === true) {
        throw new FatalError(
          `cursor pagination: the API returned the token it was sent ("${token}") and says more ` +
            'records follow; following it would loop forever',
        );
      }
      return done;
    }
    return { records, next: this.withToken(token), position: token };
  }

  private withToken(token: string): RequestPlan {
    return { query: { ...sizeQuery(this.options), [this.param]: token } };
  }

  private readToken(page: PageResponse): string | null {
    const value =
      this.tokenHeader === undefined ? readPath(page.body, this.tokenPath) : page.headers[this.tokenHeader];
    if (typeof value === 'number') return String(value);
    return typeof value === 'string' && value !== '' ? value : null;
  }
}
