import { ConfigError } from '../../core/errors.ts';
import { keyFields } from '../../core/stream-definition.ts';
import { IncrementalWatermark } from '../../core/watermark.ts';
import { type CursorFormat, parseDuration } from './cursor-format.ts';
import type { FetchByIdConfig, HttpStreamConfig } from './http-stream-config.ts';
import type { Paginator } from './http-types.ts';
import { createPaginator } from './paginators/create-paginator.ts';
import { RecordMapper } from './record-mapper.ts';

/** An HTTP stream's config, resolved for its runs (`resolveHttpSettings`). */
export interface HttpSettings {
  /** The stream's name. */
  readonly stream: string;
  /** `request.baseUrl` + `request.path`: where list passes go, and the only origin credentials go to. */
  readonly base: URL;
  /** The deleted-records feed, or null without `deletes.feed`. */
  readonly feed: FeedSettings | null;
  /** Turns rows into records and tombstones (`record`, `deletedPath`, `fields`). */
  readonly mapper: RecordMapper;
  /** The pagination is a feed: its position is kept after a completed pass (see `Paginator`). */
  readonly keepsPosition: boolean;
  /** Conditional requests: `true` with GET, `'head'` first, `false` never (always for a feed). */
  readonly conditional: boolean | 'head';
  /** `fetchById`, or null: the stream cannot be refreshed by key. */
  readonly byId: FetchByIdConfig | null;
  readonly config: HttpStreamConfig<Record<string, unknown>>;
  /** A new paginator for one pass. */
  readonly paginator: () => Paginator;
  /** How cursor values are written into request parameters. */
  readonly format: CursorFormat;
  /** The stream's cursor field, or null. */
  readonly cursorField: string | null;
  /** Where a pass starts and how the watermark moves; null when the stream is not incremental. */
  readonly watermark: IncrementalWatermark | null;
  /** `incremental.start`: where the first pass starts, or null for the beginning. */
  readonly start: string | null;
  /** The stream reads incrementally (`incremental` is set). */
  readonly incremental: boolean;
}

/** The deleted-records feed of a stream (`deletes.feed`), resolved. */
export interface FeedSettings {
  readonly base: URL;
  readonly records: string | undefined;
  /** Path of the delete's time in an entry. */
  readonly deletedAt: string;
  /** Path of the key in an entry (the stream's single key field); orders entries with the same time. */
  readonly idField: string;
  readonly paginator: () => Paginator;
}

/**
 * Resolves a stream's config into what its runs use, once, at load: every setting a run would
 * refuse is a `ConfigError` here (for every command, `syncline check` too), not a failed run.
 */
export function resolveHttpSettings(config: HttpStreamConfig<Record<string, unknown>>): HttpSettings {
  const where = `stream "${config.name}"`;
  let base: URL;
  try {
    base = apiUrl(config, config.request.path ?? '');
  } catch {
    throw new ConfigError(`${where}: request.baseUrl + request.path is not a valid URL`);
  }
  const keys = keyFields(config);
  const incremental = config.incremental;
  if (incremental && config.pagination.type === 'feed') {
    throw new ConfigError(
      `${where}: pagination "feed" is incremental by itself (each run continues from the last token it ` +
        'read); remove `incremental`',
    );
  }
  if (incremental && !config.cursor) {
    throw new ConfigError(
      `${where}: incremental needs the stream's cursor field (e.g. cursor: 'updated_at')`,
    );
  }
  const tieBreaker = incremental?.tieBreaker ?? (keys.length === 1 ? keys[0]! : null);
  const tieBreakerType = incremental?.tieBreakerType;
  const format = incremental?.format ?? 'iso';
  const safetyLagMs = parseDuration(incremental?.safetyLag ?? 0);
  const paginator = () =>
    createPaginator(config.pagination, {
      pageSize: config.pageSize ?? 100,
      pageSizeParam: config.pageSizeParam === undefined ? 'limit' : config.pageSizeParam,
      sinceParam: incremental ? (incremental.param ?? 'updated_since') : null,
      cursorField: config.cursor ?? null,
      idField: tieBreaker,
      ...(tieBreakerType !== undefined ? { tieBreakerType } : {}),
      format,
      now: () => Date.now() - safetyLagMs,
    });
  // Built once now, so a pagination that cannot work is a config error at load (for every command,
  // `syncline check` too) rather than a failed run.
  let first: Paginator;
  try {
    first = paginator();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
  if (incremental && !first.incremental) {
    throw new ConfigError(
      `${where}: pagination "${config.pagination.type}" cannot start at a cursor value; ` +
        'remove `incremental` (every run reads everything) or use keyset, cursor, link or window pagination',
    );
  }
  const feedConfig = config.deletes?.feed;
  const feedIdField = keys.length === 1 ? keys[0]! : null;
  if (feedConfig && feedIdField === null) {
    throw new ConfigError(
      `${where}: deletes.feed needs a single key field (the feed is paged by (deletedAt, key))`,
    );
  }
  if (config.fetchById && keys.length !== 1) {
    throw new ConfigError(`${where}: fetchById needs a single key field (it is put into the path as {id})`);
  }
  let feed: FeedSettings | null = null;
  if (feedConfig) {
    try {
      feed = {
        base: apiUrl(config, feedConfig.path),
        records: feedConfig.records,
        deletedAt: feedConfig.deletedAt ?? 'deleted_at',
        idField: feedIdField!,
        paginator: () =>
          createPaginator(
            {
              type: 'keyset',
              afterIdParam: feedConfig.afterIdParam ?? 'after_id',
              hasMorePath: feedConfig.hasMorePath ?? 'has_more',
            },
            {
              pageSize: feedConfig.pageSize ?? config.pageSize ?? 100,
              pageSizeParam: config.pageSizeParam === undefined ? 'limit' : config.pageSizeParam,
              sinceParam: feedConfig.sinceParam ?? 'since',
              cursorField: feedConfig.deletedAt ?? 'deleted_at',
              idField: feedIdField,
              format,
              now: Date.now,
            },
          ),
      };
    } catch {
      throw new ConfigError(`${where}: request.baseUrl + deletes.feed.path is not a valid URL`);
    }
  }
  const mapper = new RecordMapper(config, keys, where);
  const keepsPosition = paginator().keepsPosition === true;
  return {
    stream: config.name,
    base,
    feed,
    mapper,
    keepsPosition,
    // A feed's requests differ every run (the token moves): validators could never match.
    conditional: keepsPosition ? false : (config.conditional ?? true),
    byId: config.fetchById ?? null,
    config,
    paginator,
    format,
    cursorField: config.cursor ?? null,
    // Incremental streams have a cursor (checked above): the watermark's arithmetic is core's.
    watermark:
      incremental && config.cursor
        ? new IncrementalWatermark({
            cursor: config.cursor,
            tieBreaker,
            ...(tieBreakerType !== undefined ? { tieBreakerType } : {}),
            lookbackMs: parseDuration(incremental.lookback ?? 0),
            safetyLagMs,
          })
        : null,
    start: incremental?.start ?? null,
    incremental: incremental !== undefined,
  };
}

/** `request.baseUrl` (without trailing slashes) followed by `path`; throws on an invalid URL. */
export function apiUrl(config: HttpStreamConfig<Record<string, unknown>>, path: string): URL {
  return new URL(`${config.request.baseUrl.replace(/\/+$/, '')}${path}`);
}
