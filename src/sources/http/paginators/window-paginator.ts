import { ConfigError, FatalError } from '../../../core/errors.ts';
import type { Json } from '../../../core/types.ts';
import { cursorTimeMs, formatCursor } from '../cursor-format.ts';
import type { PageResponse, PageStep, Paginator, PassStart, RequestPlan } from '../http-types.ts';
import type { PaginatorOptions, WindowPagination } from './create-paginator.ts';
import {
  badPosition,
  isLastPage,
  positionCount,
  positionObject,
  positionText,
  readHasMore,
  sizeQuery,
} from './pagination-signals.ts';

/** The slice being read, in epoch ms. */
interface WindowState {
  /** Inclusive start of the slice. */
  readonly from: number;
  /** Exclusive end of the slice. */
  readonly to: number;
  /** Where the pass ends: `now()` when it started, kept so a resumed pass ends where it would have. */
  readonly end: number;
  /** Records of this slice already read (with `offsetParam`). */
  readonly offset: number;
}

/**
 * Time slices `[from, to)` of `window` ms, from `start` (a full pass) or from the pass start's
 * cursor value (incremental) up to the time the pass began. Inside a slice it pages with
 * `offsetParam` until a short page; without one, a full page means the slice may hold more than a
 * page, so the slice is read again in halves (the records already handed over are re-read, which
 * the hashes make free). Position: `{ from, to, end, offset }`, times as ISO strings.
 */
export class WindowPaginator implements Paginator {
  readonly incremental = true;
  private readonly fromParam: string;
  private readonly toParam: string;
  private readonly startMs: number;
  private state: WindowState;

  constructor(
    private readonly config: WindowPagination,
    private readonly options: PaginatorOptions,
  ) {
    this.fromParam = config.fromParam ?? 'from';
    this.toParam = config.toParam ?? 'to';
    const startMs = cursorTimeMs(config.start);
    if (startMs === null) throw new ConfigError(`window pagination: start "${config.start}" is not a time`);
    if (!Number.isFinite(config.window) || config.window < 1) {
      throw new ConfigError(`window pagination: window must be at least 1 ms, got ${config.window}`);
    }
    this.startMs = startMs;
    this.state = this.slice(startMs, startMs);
  }

  first(start: PassStart | null): RequestPlan {
    const from = start === null ? this.startMs : cursorTimeMs(start.cursor);
    if (from === null) {
      throw new FatalError(
        `window pagination cannot start at "${start?.cursor}": the cursor value is not a time`,
      );
    }
    this.state = this.slice(from, this.options.now());
    return this.plan(this.state);
  }

  resume(position: Json): RequestPlan {
    const p = positionObject('window', position);
    const time = (name: string) => {
      const ms = cursorTimeMs(positionText('window', p, name));
      if (ms === null) throw badPosition('window', position);
      return ms;
    };
    this.state = {
      from: time('from'),
      to: time('to'),
      end: time('end'),
      offset: positionCount('window', p, 'offset'),
    };
    if (this.state.to <= this.state.from) throw badPosition('window', position);
    return this.plan(this.state);
  }

  next(page: PageResponse, _request: RequestPlan): PageStep {
    const s = this.state;
    const records = page.records;
    const hasMore = readHasMore(page.body, this.config.hasMorePath);
    let next: WindowState | null;
    if (!isLastPage(hasMore, records.length, this.options.pageSize)) {
      if (this.config.offsetParam !== undefined) {
        next = { ...s, offset: s.offset + records.length };
      } else if (s.to - s.from > 1) {
        next = { ...s, to: s.from + Math.floor((s.to - s.from) / 2) };
      } else {
        throw new FatalError(
          `window pagination: at least ${records.length} records fall in the 1 ms slice at ` +
            `${formatCursor(s.from, 'iso')}, a full page; configure offsetParam to page inside a slice`,
        );
      }
    } else {
      next = s.to >= s.end ? null : this.slice(s.to, s.end);
    }
    this.state = next ?? s;
    if (next === null) return { records, next: null, position: null };
    const position = {
      from: formatCursor(next.from, 'iso'),
      to: formatCursor(next.to, 'iso'),
      end: formatCursor(next.end, 'iso'),
      offset: next.offset,
    };
    return { records, next: this.plan(next), position };
  }

  /** The first slice from `from`; a pass that starts at or after its end still reads one slice. */
  private slice(from: number, end: number): WindowState {
    const to = from < end ? Math.min(from + this.config.window, end) : from + this.config.window;
    return { from, to, end, offset: 0 };
  }

  private plan(s: WindowState): RequestPlan {
    const query = sizeQuery(this.options);
    query[this.fromParam] = formatCursor(s.from, this.options.format);
    query[this.toParam] = formatCursor(s.to, this.options.format);
    if (this.config.offsetParam !== undefined && s.offset > 0)
      query[this.config.offsetParam] = String(s.offset);
    return { query };
  }
}
