import { FatalError } from '../../../core/errors.ts';
import { readPath } from '../../../core/field-path.ts';
import type { Json } from '../../../core/types.ts';
import type { PageResponse, PageStep, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import type { FeedPagination, PaginatorOptions } from './create-paginator.ts';
import { badPosition, isLastPage, readHasMore, readNumber, sizeQuery } from './pagination-signals.ts';

/**
 * A changes feed (CouchDB `_changes`, "events since" APIs): each answer names, in its body, the
 * position after its last row (`last_seq`), and the next request sends it back (`since=<token>`).
 *
 * Unlike a list cursor, the position outlives the pass: when the feed is read to its end (a page
 * shorter than `pageSize`, an empty one, `pending: 0` or a has-more flag saying false) the pass
 * ends but its last token stays the position, so the next run asks only for what changed since.
 * The first pass of a stream sends no token: the feed from its start (a reconciliation too).
 * Position: the token, as text.
 */
export class FeedPaginator implements Paginator {
  /** A feed cannot start at a cursor value; it is incremental by its own token. */
  readonly incremental = false;
  readonly keepsPosition = true;
  private readonly param: string;
  private readonly tokenPath: string;

  constructor(
    private readonly config: FeedPagination,
    private readonly options: PaginatorOptions,
  ) {
    this.param = config.param ?? 'since';
    this.tokenPath = config.tokenPath ?? 'last_seq';
  }

  first(start: PassStart | null): RequestPlan {
    if (start !== null) throw new FatalError('feed pagination cannot start at a cursor value');
    return { query: sizeQuery(this.options) };
  }

  resume(position: Json): RequestPlan {
    if (typeof position !== 'string' || position === '') throw badPosition('feed', position);
    return this.withToken(position);
  }

  next(page: PageResponse, request: RequestPlan): PageStep {
    const records = page.records;
    const sent = request.query[this.param] ?? null;
    const token = this.readToken(page.body);
    if (token === null) {
      // An empty answer without a token changes nothing: keep the position it was asked with.
      if (records.length === 0) return { records, next: null, position: sent };
      throw new FatalError(
        `feed pagination: ${page.url} answered ${records.length} rows but no token at "${this.tokenPath}"; ` +
          'set pagination.tokenPath to where the API puts the position to continue from',
      );
    }
    const pending = readNumber(page.body, this.config.pendingPath);
    const hasMore = pending !== undefined ? pending > 0 : readHasMore(page.body, this.config.hasMorePath);
    if (isLastPage(hasMore, records.length, this.options.pageSize)) {
      return { records, next: null, position: token };
    }
    if (token === sent) {
      // Rows, more to come, and the position did not move: asking again would loop forever.
      throw new FatalError(
        `feed pagination: ${page.url} answered the token it was sent ("${token}") and says more rows ` +
          'follow; following it would loop forever (is pagination.tokenPath the position after the page?)',
      );
    }
    return { records, next: this.withToken(token), position: token };
  }

  private withToken(token: string): RequestPlan {
    return { query: { ...sizeQuery(this.options), [this.param]: token } };
  }

  /** The token as text: numbers (CouchDB 1.x sequence numbers) are written with `String`. */
  private readToken(body: unknown): string | null {
    const value = readPath(body, this.tokenPath);
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return typeof value === 'string' && value !== '' ? value : null;
  }
}
