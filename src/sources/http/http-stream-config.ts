import type { RateLimit } from '../../core/source.ts';
import type { FieldPath, StreamDefinition } from '../../core/stream-definition.ts';
import type { TieBreakerType } from '../../core/tie-breaker.ts';
import type { AuthConfig } from './auth/auth-config.ts';
import type { CursorFormat } from './cursor-format.ts';
import type { PaginationConfig } from './paginators/create-paginator.ts';

/** A duration: milliseconds, or text like `90s`, `15m`, `1h`, `7d`. */
export type Duration = number | string;

/** Where and how to ask. */
export interface HttpRequestConfig {
  /** e.g. `https://api.example.com`. */
  readonly baseUrl: string;
  /** Appended to `baseUrl`, e.g. `/v1/customers`. Default: none. */
  readonly path?: string;
  /** Query parameters sent with every request. */
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  /** Headers sent with every request (no secrets here: use `auth`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Time for one whole request, in ms. Default 30000. */
  readonly timeoutMs?: number;
  /**
   * Time to connect (TCP and TLS), in ms; running out is retried like a timeout. Default 10000
   * (Node's fetch's own). When set, the stream's requests use a connection pool of their own,
   * which connects directly rather than through a global dispatcher (a proxy set with undici's
   * `setGlobalDispatcher`).
   */
  readonly connectTimeoutMs?: number;
}

/** Incremental reads: each pass starts at the watermark minus the lookback instead of the beginning. */
export interface IncrementalConfig {
  /** The request parameter taking the lower bound of the cursor field. Default `updated_since`. */
  readonly param?: string;
  /** How cursor values are written into `param`. Default `iso`. */
  readonly format?: CursorFormat;
  /** Where the first pass starts (ISO or epoch); default: the beginning (no `param` sent). */
  readonly start?: string;
  /**
   * Re-read this much before the watermark on every run, so late-arriving and backdated records
   * are caught (unchanged ones are not written: their hash is equal). Default 0.
   */
  readonly lookback?: Duration;
  /**
   * Never advance the watermark past now minus this, so rows still being committed at the source
   * with an earlier timestamp are not stepped over. Default 0.
   */
  readonly safetyLag?: Duration;
  /**
   * The record field that breaks ties between equal cursor values. Default: the stream's key field.
   * The API must return records sorted by (cursor, tie-breaker): ask it to (`sort=updated_at,id`,
   * `order_by=updated_at,id`...).
   */
  readonly tieBreaker?: string;
  /**
   * How the API orders tie-breaker values: `'number'` (9 before 10) or `'string'` (as text: "10"
   * before "9"). Default: as numbers when both values are decimal numbers, as text otherwise.
   */
  readonly tieBreakerType?: TieBreakerType;
}

/** How the API tells about deleted records, besides a deleted flag on listed records (`deleted`). */
export interface DeletesConfig {
  /**
   * A deleted-records feed (tombstones), read after each incremental pass from where the last one
   * ended. Each entry soft-deletes the stored row, keeping its last data, unless the row is newer
   * than the delete (the record came back). Hard deletes an API reports nowhere are found by
   * `syncline reconcile`.
   */
  readonly feed?: DeletedFeedConfig;
}

/**
 * A list of deleted records in `(deletedAt, key)` order, paged by keyset:
 * `GET <path>?<sinceParam>=<last deletedAt>&<afterIdParam>=<last key>&<pageSizeParam>=<n>`. Each
 * entry carries the stream's key fields (same paths as in records) and the time of the delete.
 */
export interface DeletedFeedConfig {
  /** Appended to `request.baseUrl` (e.g. `/v1/customers/deleted`); `request.query` and headers apply. */
  readonly path: string;
  /** Path of the array of entries in the body. Default: the body when it is an array, else `data`. */
  readonly records?: string;
  /** The entry field with the time of the delete, written like the stream's cursor. Default `deleted_at`. */
  readonly deletedAt?: string;
  /** The parameter taking the lower bound of `deletedAt`. Default `since`. */
  readonly sinceParam?: string;
  /** The parameter taking the last key seen, for `(deletedAt, key) >` paging. Default `after_id`. */
  readonly afterIdParam?: string;
  /** Body path of a has-more flag. Default `has_more`. */
  readonly hasMorePath?: string;
  /** Entries per request. Default: the stream's `pageSize`. */
  readonly pageSize?: number;
}

/**
 * Renaming and dropping record fields, applied to every record (listed, or read by id) before it
 * is validated, keyed and hashed: `{ rename: { _id: 'id' }, drop: ['_rev'] }` turns a CouchDB
 * document into the record. Paths may be dotted. `drop` goes first; both name fields as the API
 * sends them. A field to rename that a record lacks is left alone.
 */
export interface FieldsConfig {
  /** API field -> record field, e.g. `{ _id: 'id' }`. Default none. */
  readonly rename?: Readonly<Record<string, string>>;
  /** API fields left out of the record (and so out of its hash), e.g. `['_rev']`. Default none. */
  readonly drop?: readonly string[];
}

/** `GET <request.baseUrl><path>` with `{id}` replaced by the key (URL-encoded). */
export interface FetchByIdConfig {
  /** e.g. `/v1/customers/{id}`; `request.query` and headers apply. */
  readonly path: string;
  /** Path of the record in the body. Default: the body itself. */
  readonly record?: string;
}

/** A declarative HTTP stream: `http.stream({...})` in code, or the same object in JSON/YAML config. */
export interface HttpStreamConfig<R extends object = Record<string, unknown>>
  extends Omit<StreamDefinition<R>, 'source' | 'cursor'> {
  /** The cursor field; required by `incremental`. */
  readonly cursor?: FieldPath<R>;
  readonly request: HttpRequestConfig;
  readonly auth?: AuthConfig;
  /** Path of the array of records in the body (`data`, `results.items`). Default: the body when it is an array, else `data`. */
  readonly records?: string;
  /**
   * Path of the record inside each row of `records`, when the API wraps records (a changes feed's
   * `results[].doc`: `record: 'doc'`). A row without an object there (and not flagged deleted)
   * stops the run: the config does not fit the API. Default: the row is the record.
   */
  readonly record?: string;
  /**
   * Path, in each row, of a flag saying the record was deleted (`deleted`, as in CouchDB's
   * `_changes`). A truthy flag makes the row a tombstone instead of a record: the stored row is
   * soft-deleted keeping its last data, as a deleted-records feed does; the key is read from the
   * row's record (after `fields`), or from the row itself when it has none. Unlike the stream's
   * `deleted` field, which is read from the record and stores the record as it came, marked
   * deleted. Default: no row is a tombstone.
   */
  readonly deletedPath?: string;
  /** Fields renamed and dropped in each record. Default: records as the API sends them. */
  readonly fields?: FieldsConfig;
  readonly pagination: PaginationConfig;
  /** Records per request. Default 100. */
  readonly pageSize?: number;
  /**
   * Body path of the number of records the pass will read in all, when the API says
   * (`total_count`, `meta.total`): the live line then shows records read out of it and an ETA.
   * Read from every list page (the latest wins); an estimate, never used to decide anything.
   * Default: none.
   */
  readonly totalPath?: string;
  /** The request parameter for the page size; null sends none. Default `limit`. */
  readonly pageSizeParam?: string | null;
  readonly incremental?: IncrementalConfig;
  /**
   * Conditional requests: keep the first page's `ETag` / `Last-Modified` and send them on the next
   * poll, so an unchanged source costs one request and no writes. `'head'` probes with a HEAD
   * first. Only used when the last pass was a single page (a 304 then proves nothing changed).
   * Default true.
   */
  readonly conditional?: boolean | 'head';
  readonly deletes?: DeletesConfig;
  /**
   * How to read one record by its key, for `syncline refresh <stream> <key...>`: a 200 is the
   * record (applied like any other), a 404 or 410 is a tombstone (the row is soft-deleted, keeping
   * its last data). Needs a single key field.
   */
  readonly fetchById?: FetchByIdConfig;
  /**
   * Requests per second to this API's host (shared by every stream of the process calling it; with
   * `shared: true` and a PostgreSQL store, by every process using the store). Default: no limit,
   * but `X-RateLimit-*` headers are obeyed.
   */
  readonly rateLimit?: RateLimit;
}
