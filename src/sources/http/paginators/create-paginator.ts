import { ConfigError } from '../../../core/errors.ts';
import type { TieBreakerType } from '../../../core/tie-breaker.ts';
import type { CursorFormat } from '../cursor-format.ts';
import type { Paginator } from '../http-types.ts';
import { CursorPaginator } from './cursor-paginator.ts';
import { FeedPaginator } from './feed-paginator.ts';
import { KeysetPaginator } from './keyset-paginator.ts';
import { LinkPaginator } from './link-paginator.ts';
import { OffsetPaginator } from './offset-paginator.ts';
import { PagePaginator } from './page-paginator.ts';
import { WindowPaginator } from './window-paginator.ts';

/** What every strategy needs to know about the stream besides its own pagination config. */
export interface PaginatorOptions {
  /** Records asked for per request; also what a "short page" is measured against. */
  readonly pageSize: number;
  /** Query parameter that carries `pageSize` (`limit`, `per_page`); null: not sent, the API's default must equal `pageSize`. */
  readonly pageSizeParam: string | null;
  /** Query parameter of the incremental lower bound (`updated_since`); null: the stream makes full passes only (required by keyset). */
  readonly sinceParam: string | null;
  /** Dotted path of the stream's cursor field in a record (`updated_at`); null when the stream has none (required by keyset). */
  readonly cursorField: string | null;
  /** Dotted path of the tie-breaker id in a record (`id`); null when the stream has none (required by keyset). */
  readonly idField: string | null;
  /** How the API orders tie-breaker values; default: numerically when both are decimal numbers, else as text. */
  readonly tieBreakerType?: TieBreakerType;
  /** How cursor values and times are written into request parameters. */
  readonly format: CursorFormat;
  /** The current time in epoch ms; `Date.now` in production, fixed in tests. Window passes end at it. */
  readonly now: () => number;
}

/**
 * The pagination strategy of a stream, as configured. Body paths are dotted (`meta.next`);
 * `hasMorePath`, where offered, names a boolean in the body that says whether another page follows
 * (when present it decides instead of the short-page rule, so an API that caps the page size below
 * `pageSize` cannot end a pass early).
 */
export type PaginationConfig =
  | CursorPagination
  | LinkPagination
  | KeysetPagination
  | PagePagination
  | OffsetPagination
  | WindowPagination
  | FeedPagination;

/** An opaque continuation token, Stripe-like. */
export interface CursorPagination {
  readonly type: 'cursor';
  /** Body path of the next token; default `next_cursor`. Ignored when `tokenHeader` is set. */
  readonly tokenPath?: string;
  /** Response header carrying the next token instead of the body (any case). */
  readonly tokenHeader?: string;
  /** Query parameter the token is sent in; default `cursor`. */
  readonly param?: string;
  /** Body path of a has-more boolean (e.g. `has_more`); false ends the pass. */
  readonly hasMorePath?: string;
}

/** `Link: <url>; rel="next"` headers, GitHub-like. */
export interface LinkPagination {
  readonly type: 'link';
}

/** A watermark `(cursor field, id)` sent back as parameters (`updated_since` + `after_id`). */
export interface KeysetPagination {
  readonly type: 'keyset';
  /** Parameter for the id of the watermark (`after_id`); absent: the API filters only `>=` on the cursor. */
  readonly afterIdParam?: string;
  /** For `>=`-only APIs: parameter that skips records inside the result, used to page inside a tie group. */
  readonly offsetParam?: string;
  readonly hasMorePath?: string;
}

/** Page numbers. Unsafe on changing data (see PagePaginator). */
export interface PagePagination {
  readonly type: 'page';
  /** Query parameter of the page number; default `page`. */
  readonly param?: string;
  /** Number of the first page; default 1. */
  readonly firstPage?: number;
  /** Body path of the number of pages; the pass ends after that page. */
  readonly totalPagesPath?: string;
  readonly hasMorePath?: string;
}

/** Offsets. Unsafe on changing data; `overlap` narrows the gap (see OffsetPaginator). */
export interface OffsetPagination {
  readonly type: 'offset';
  /** Query parameter of the offset; default `offset`. */
  readonly param?: string;
  /** Records re-read at each page boundary (default 0), so deletes between two requests cannot make the walk skip one. */
  readonly overlap?: number;
  readonly hasMorePath?: string;
}

/** Time slices `[from, to)` of the cursor field, for long histories and backfills. */
export interface WindowPagination {
  readonly type: 'window';
  /** Parameter of the slice's inclusive start; default `from`. */
  readonly fromParam?: string;
  /** Parameter of the slice's exclusive end; default `to`. */
  readonly toParam?: string;
  /** Milliseconds per slice. */
  readonly window: number;
  /** ISO time where a full pass begins. */
  readonly start: string;
  /** Parameter that pages inside a slice; absent: a full page splits the slice in halves instead. */
  readonly offsetParam?: string;
  /** Body path of a has-more flag for the slice (e.g. `has_more`). */
  readonly hasMorePath?: string;
}

/**
 * A changes feed (CouchDB `_changes`, "events since" APIs): the body names the position after the
 * page (`last_seq`), sent back as `since`. The stream keeps the last token after the feed is read
 * to its end, so each run reads only what changed since the last one (see FeedPaginator). Not
 * combined with `incremental`: the token is the stream's incremental position.
 */
export interface FeedPagination {
  readonly type: 'feed';
  /** Body path of the position after this page; default `last_seq`. */
  readonly tokenPath?: string;
  /** Query parameter the position is sent in; default `since`. */
  readonly param?: string;
  /**
   * Body path of the number of rows still to come (CouchDB's `pending`); 0 ends the pass. Without
   * it (and without `hasMorePath`), a page shorter than `pageSize`, or an empty one, does.
   */
  readonly pendingPath?: string;
  readonly hasMorePath?: string;
}

/** Builds the paginator of one pass. Throws a ConfigError when the config cannot work. */
export function createPaginator(config: PaginationConfig, options: PaginatorOptions): Paginator {
  if (!Number.isInteger(options.pageSize) || options.pageSize < 1) {
    throw new ConfigError(`pagination: pageSize must be a positive integer, got ${options.pageSize}`);
  }
  switch (config.type) {
    case 'cursor':
      return new CursorPaginator(config, options);
    case 'link':
      return new LinkPaginator(options);
    case 'keyset':
      return new KeysetPaginator(config, options);
    case 'page':
      return new PagePaginator(config, options);
    case 'offset':
      return new OffsetPaginator(config, options);
    case 'window':
      return new WindowPaginator(config, options);
    case 'feed':
      return new FeedPaginator(config, options);
  }
}
