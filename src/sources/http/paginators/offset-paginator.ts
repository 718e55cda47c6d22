import { contentHash } from '../../../core/canonical-json.ts';
import { ConfigError, FatalError } from '../../../core/errors.ts';
import type { Json } from '../../../core/types.ts';
import type { PageResponse, PageStep, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import type { OffsetPagination, PaginatorOptions } from './create-paginator.ts';
import {
  badPosition,
  isLastPage,
  positionCount,
  positionObject,
  readHasMore,
  sizeQuery,
} from './pagination-signals.ts';

/**
 * Offsets: `offset=0, pageSize, 2 * pageSize, ...`. The pass ends on an empty page, when the
 * has-more flag says false, or (without one) on a page shorter than `pageSize`.
 *
 * Unsafe on changing data: an offset is a rank. A record deleted, or updated and so re-sorted to
 * the end, below the current offset between two requests moves every later record one rank down,
 * and the walk skips the record that slid across the page boundary; an insert below the offset
 * makes it read one twice. `overlap` re-reads that many records at each boundary: up to `overlap`
 * removals between two requests then skip nothing. It does not fix more removals than that, nor
 * records re-sorted past the part already read (an update under `sort=-updated_at`), nor give a
 * consistent snapshot: records changed during the walk are read in whatever state each request saw.
 * The re-read records are duplicates the engine collapses; exact repeats of the previous page's
 * last `overlap` records (same content hash) are dropped here already.
 *
 * Position: `{ offset, tail }`, the next offset and the content hashes of the overlap just read.
 */
export class OffsetPaginator implements Paginator {
  readonly incremental = false;
  private readonly param: string;
  private readonly overlap: number;
  private offset = 0;
  private tail: readonly string[] = [];

  constructor(
    private readonly config: OffsetPagination,
    private readonly options: PaginatorOptions,
  ) {
    this.param = config.param ?? 'offset';
    this.overlap = config.overlap ?? 0;
    if (!Number.isInteger(this.overlap) || this.overlap < 0 || this.overlap >= options.pageSize) {
      throw new ConfigError(
        `offset pagination: overlap must be an integer from 0 to pageSize - 1 (${options.pageSize - 1}), got ${this.overlap}`,
      );
    }
  }

  first(start: PassStart | null): RequestPlan {
    if (start !== null)
      throw new FatalError('offset pagination cannot start at a cursor value: full passes only');
    this.offset = 0;
    this.tail = [];
    return this.plan();
  }

  resume(position: Json): RequestPlan {
    const p = positionObject('offset', position);
    const tail = p.tail;
    if (!Array.isArray(tail) || !tail.every((h) => typeof h === 'string'))
      throw badPosition('offset', position);
    this.offset = positionCount('offset', p, 'offset');
    this.tail = tail as string[];
    return this.plan();
  }

  next(page: PageResponse, _request: RequestPlan): PageStep {
    const raw = page.records;
    const hasMore = readHasMore(page.body, this.config.hasMorePath);
    const records = this.dropRepeats(raw);
    if (isLastPage(hasMore, raw.length, this.options.pageSize)) {
      return { records, next: null, position: null };
    }
    this.offset = Math.max(this.offset + 1, this.offset + raw.length - this.overlap);
    this.tail = this.overlap === 0 ? [] : raw.slice(-this.overlap).map((r) => contentHash(r));
    return { records, next: this.plan(), position: { offset: this.offset, tail: [...this.tail] } };
  }

  /**
   * Drops records identical to one of the previous page's overlap. Repeats sit near the start of
   * the page (shifted by at most the changes between two requests), so only the first
   * `2 * overlap` records are hashed.
   */
  private dropRepeats(raw: readonly unknown[]): readonly unknown[] {
    if (this.tail.length === 0) return raw;
    const seen = new Set(this.tail);
    const window = 2 * this.overlap;
    return raw.filter((record, i) => i >= window || !seen.has(contentHash(record)));
  }

  private plan(): RequestPlan {
    return { query: { ...sizeQuery(this.options), [this.param]: String(this.offset) } };
  }
}
