import type { Json } from '../../core/types.ts';

/**
 * The contracts between the parts of the declarative HTTP source: the request it sends, the page it
 * gets back, the paginator that turns one into the next, and the auth that signs requests.
 *
 * Glossary additions (see core/types.ts for the rest):
 * - **pass**: one walk through the source from a start (the beginning, or the watermark minus the
 *   lookback) to its end. A run usually makes one pass; a killed run leaves a pass unfinished,
 *   and the next run resumes it at its **position** instead of starting a new one.
 * - **position**: a paginator's own JSON state meaning "the next request of this pass". Stored in
 *   the checkpoint with each page. A feed keeps its position after a pass completes: the next pass
 *   continues from it.
 * - **row**: one element of the array at the stream's `records`. Usually the record itself; a
 *   changes feed wraps it (`results[].doc`, with `record: doc`) and may flag the row deleted.
 */

/** What to ask for next. Either an absolute URL to fetch as is (Link headers), or query params. */
export interface RequestPlan {
  /** An absolute URL given by the API (e.g. `Link: <...>; rel="next"`); used instead of path+query. */
  readonly url?: string;
  /** Query parameters added to the stream's path and static query. */
  readonly query: Readonly<Record<string, string>>;
}

/** One answered request, records already selected from the body. */
export interface PageResponse {
  readonly status: number;
  /** Response headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body. */
  readonly body: unknown;
  /**
   * The records found at the stream's record selector, one per row, mapped as the stream says
   * (`record`, `fields`). Paginators count them as rows.
   */
  readonly records: readonly unknown[];
  /**
   * Those of `records` (by identity) that stand for rows flagged deleted (`deletedPath`): handed
   * over as tombstones, not records. Absent: none.
   */
  readonly deleted?: ReadonlySet<unknown>;
  /** The URL that was fetched (absolute, without credentials). */
  readonly url: string;
}

/**
 * Where an incremental pass starts: the lower bound on the cursor field (already reduced by the
 * lookback), and, when resuming exactly after a known record, that record's tie-breaker id.
 */
export interface PassStart {
  /** The cursor value as the API wants it in the request (formatted per `cursorParam.format`). */
  readonly param: string;
  /** The same bound as cursor text, for comparisons with records' cursor values. */
  readonly cursor: string;
  /** Start strictly after `(cursor, afterId)` when set; at `cursor` inclusive otherwise. */
  readonly afterId?: string;
}

/** What a paginator decides after a page. */
export interface PageStep {
  /** The records to hand over (a paginator may drop ones it knows it already handed over). */
  readonly records: readonly unknown[];
  /** The request after this page, or null when the pass is complete. */
  readonly next: RequestPlan | null;
  /**
   * State to resume at `next` in a later run (JSON); null when the pass is complete, except for a
   * paginator that `keepsPosition`: then where the next pass starts.
   */
  readonly position: Json | null;
}

/**
 * A pagination strategy: a small state machine. It must be able to resume from any `position`
 * it returned, so a resumed pass neither skips nor re-reads more than one page.
 */
export interface Paginator {
  /** The first request of a new pass; `start` is null for a full pass from the beginning. */
  first(start: PassStart | null): RequestPlan;
  /** The request that resumes a pass at a stored position. */
  resume(position: Json): RequestPlan;
  /** Reads a page and decides what comes next. `request` is the plan that produced it. */
  next(page: PageResponse, request: RequestPlan): PageStep;
  /**
   * Whether this strategy can start a pass at a cursor value (`first(start)` with start != null).
   * Strategies that cannot (page numbers, offsets, opaque cursors without a since-parameter) make
   * full passes only.
   */
  readonly incremental: boolean;
  /**
   * True for a feed: the position of a completed pass is kept, and the next pass resumes at it
   * instead of starting again (`first` is only for a stream's very first pass, or a
   * reconciliation). Conditional requests are not used. Default false.
   */
  readonly keepsPosition?: boolean;
}

/** An outgoing request that auth may add credentials to. */
export interface OutgoingRequest {
  readonly url: URL;
  readonly headers: Record<string, string>;
}

/** Signs requests. One instance per stream and run; it may cache tokens between requests. */
export interface HttpAuth {
  /** Adds credentials to the request (headers and/or query). */
  apply(request: OutgoingRequest, signal: AbortSignal): Promise<void>;
  /**
   * Called after a 401: refresh the credentials if this kind of auth can (OAuth2), and say whether
   * the request is worth sending once more. A second 401 after a refresh is fatal.
   */
  refresh(signal: AbortSignal): Promise<boolean>;
  /** The secret values in use, so any message can be scrubbed of them. */
  secrets(): readonly string[];
}

/** Reads a secret by environment variable name; throws a ConfigError naming the variable if unset. */
export type SecretReader = (name: string) => string;
