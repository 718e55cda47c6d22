import { ConfigError, FatalError, SyncError, TransientError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import { scalarText } from '../../core/key-codec.ts';
import type { Page, SourceArgs, Tombstone } from '../../core/source.ts';
import { keyFields, type StreamDefinition } from '../../core/stream-definition.ts';
import type { TimeRange } from '../../core/types.ts';
import { compareWatermarks, IncrementalWatermark, type Watermark } from '../../core/watermark.ts';
import { createAuth } from './auth/create-auth.ts';
import { scrubSecrets } from './auth/scrub-secrets.ts';
import { compareCursorText, formatCursorText, parseDuration } from './cursor-format.ts';
import {
  type FeedState,
  type HttpCheckpoint,
  readHttpCheckpoint,
  toJson,
  type Validators,
} from './http-checkpoint.ts';
import { HttpRequester } from './http-requester.ts';
import { httpSourceInfo } from './http-source-info.ts';
import type { FetchByIdConfig, HttpStreamConfig } from './http-stream-config.ts';
import { validateHttpStream } from './http-stream-schema.ts';
import type { HttpAuth, PageResponse, Paginator, PassStart, RequestPlan } from './http-types.ts';
import { createPaginator } from './paginators/create-paginator.ts';
import { readNumber } from './paginators/pagination-signals.ts';
import { parseJsonBody } from './parse-json-body.ts';
import { RecordMapper } from './record-mapper.ts';
import { selectRecords } from './record-selector.ts';
import { parseRateBudget } from './retry-after.ts';

/**
 * A stream read from a REST API, described instead of programmed: request, auth, where the records
 * are, how pages follow each other, and how to read incrementally. Resilience (rate limits,
 * retries, deadline) comes from the engine through `SourceArgs.attempt`.
 */
export function httpStream<R extends object>(config: HttpStreamConfig<R>): StreamDefinition<R> {
  validateHttpStream(config);
  const settings = resolveSettings(config as HttpStreamConfig<Record<string, unknown>>);
  const definition: StreamDefinition<R> = {
    name: config.name,
    key: config.key,
    ...(config.cursor !== undefined ? { cursor: config.cursor } : {}),
    ...(config.version !== undefined ? { version: config.version } : {}),
    ...(config.deleted !== undefined ? { deleted: config.deleted } : {}),
    ...(config.schema !== undefined ? { schema: config.schema } : {}),
    ...(config.hash !== undefined ? { hash: config.hash } : {}),
    ...(config.onVersionRegression !== undefined ? { onVersionRegression: config.onVersionRegression } : {}),
    ...(config.history !== undefined ? { history: config.history } : {}),
    ...(config.columns !== undefined ? { columns: config.columns } : {}),
    ...(config.backfill !== undefined ? { backfill: config.backfill } : {}),
    ...(config.reconcile !== undefined ? { reconcile: config.reconcile } : {}),
    source: (args) => readStream(settings, args),
    sourceInfo: httpSourceInfo(config as HttpStreamConfig<Record<string, unknown>>),
    ...(settings.byId ? { fetchByKey: (args) => readByKeys(settings, settings.byId!, args) } : {}),
  };
  return definition;
}

type Settings = ReturnType<typeof resolveSettings>;

/** `request.baseUrl` (without trailing slashes) followed by `path`; throws on an invalid URL. */
function apiUrl(config: HttpStreamConfig<Record<string, unknown>>, path: string): URL {
  return new URL(`${config.request.baseUrl.replace(/\/+$/, '')}${path}`);
}

/** The run's auth and HTTP requester, as the stream's config describes them. */
function httpClient(s: Settings, args: SourceArgs): { auth: HttpAuth; requester: HttpRequester } {
  return {
    auth: createAuth(s.config.auth, args.secret, { stream: s.stream }),
    requester: new HttpRequester(
      {
        ...(s.config.request.timeoutMs !== undefined ? { requestMs: s.config.request.timeoutMs } : {}),
        ...(s.config.request.connectTimeoutMs !== undefined
          ? { connectMs: s.config.request.connectTimeoutMs }
          : {}),
      },
      args.log,
    ),
  };
}

/** The deleted-records feed of a stream (`deletes.feed`), resolved. */
interface FeedSettings {
  readonly base: URL;
  readonly records: string | undefined;
  /** Path of the delete's time in an entry. */
  readonly deletedAt: string;
  /** Path of the key in an entry (the stream's single key field); orders entries with the same time. */
  readonly idField: string;
  readonly paginator: () => Paginator;
}

function resolveSettings(config: HttpStreamConfig<Record<string, unknown>>) {
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

/**
 * A run: the list passes, then (ordinary runs of a stream with `deletes.feed`) the deleted-records
 * feed. A reconciliation skips the feed: its full scan finds every delete anyway.
 */
async function* readStream(s: Settings, args: SourceArgs): AsyncGenerator<Page<unknown>> {
  const { request } = args;
  if (request.mode === 'refresh' || request.mode === 'replay') {
    throw new FatalError(
      `stream "${s.stream}": a ${request.mode} run does not read the stream's list ` +
        '(a refresh reads through fetchById, a replay reads the stored dead letters)',
      { stream: s.stream },
    );
  }
  const stored = readHttpCheckpoint(args.checkpoint, s.stream);
  const { auth, requester } = httpClient(s, args);
  const range = request.mode === 'backfill' ? request.range : null;
  const last = yield* readPasses(s, args, range, stored, auth, requester);
  if (s.feed !== null && request.mode === 'sync') {
    yield* readDeletedFeed(s, s.feed, args, last, auth, requester);
  }
}

/**
 * The list passes of a run (of `range` only, in a backfill); returns the last checkpoint handed
 * over (or the stored one).
 */
async function* readPasses(
  s: Settings,
  args: SourceArgs,
  range: TimeRange | null,
  stored: HttpCheckpoint,
  auth: HttpAuth,
  requester: HttpRequester,
): AsyncGenerator<Page<unknown>, HttpCheckpoint> {
  let paginator = s.paginator();
  let watermark = stored.watermark;
  let validators = stored.validators;
  // An incremental run that resumes a pass a killed run left unfinished completes it, then makes one
  // fresh pass from the watermark (minus the lookback): records that changed behind the old pass's
  // position since it began are read in this run too, so a run that ends `ok` has seen the source as
  // it was when the run started. (A full-refresh stream's next run walks everything anyway; doing it
  // twice in one run would double its cost.)
  let resuming = stored.position !== null && s.incremental && range === null;
  let firstOfPass = stored.position === null;
  const start = range ? rangeStart(s, range) : passStart(s, watermark);
  let plan = firstOfPass ? paginator.first(start) : paginator.resume(stored.position!);
  let last: HttpCheckpoint = stored;
  for (;;) {
    const url = buildUrl(s, plan);
    const useValidators =
      firstOfPass && s.conditional !== false && validators?.url === url.href ? validators : null;
    if (useValidators && s.conditional === 'head') {
      if ((await fetchPage(s, args, auth, requester, url, useValidators, 'HEAD')) === 'not-modified')
        return last;
    }
    const fetched = await fetchPage(s, args, auth, requester, url, useValidators, 'GET');
    if (fetched === 'not-modified') return last; // the whole last pass is unchanged: nothing to read
    const total = readNumber(fetched.page.body, s.config.totalPath);
    if (total !== undefined && total >= 0) args.report({ total });
    let step = paginator.next(fetched.page, plan);
    // A range read ends at the first record past the range's end (passes go in cursor order).
    if (range && s.cursorField !== null) {
      const cursorField = s.cursorField;
      const end = range.to;
      const inside = step.records.filter((r) => {
        const cursor = scalarText(readPath(r, cursorField));
        return cursor === null || compareCursorText(cursor, end) < 0;
      });
      if (inside.length < step.records.length) step = { records: inside, next: null, position: null };
    }
    if (firstOfPass) validators = step.next === null && !s.keepsPosition ? fetched.validators : null;
    watermark = s.watermark ? s.watermark.advance(watermark, step.records) : watermark;
    const checkpoint: HttpCheckpoint = {
      v: 1,
      position: withoutSecrets(step.position, auth),
      watermark,
      validators: validators && withoutSecrets(validators, auth),
      ...(stored.deletes ? { deletes: stored.deletes } : {}),
    };
    // Rows flagged deleted are tombstones; a record after its own key's tombstone needs a page of
    // its own (tombstones apply after records). Such earlier pages keep the last checkpoint: a run
    // killed between them reads this answer again, and applying its rows again changes nothing.
    const batches = s.mapper.batches(step.records, fetched.page.deleted);
    for (const batch of batches.slice(0, -1)) yield { ...batch, checkpoint: toJson(last) };
    const { records, tombstones } = batches.at(-1)!;
    // An empty page that changes nothing need not be committed.
    if (step.records.length > 0 || JSON.stringify(checkpoint) !== JSON.stringify(last)) {
      yield { records, ...(tombstones.length > 0 ? { tombstones } : {}), checkpoint: toJson(checkpoint) };
      last = checkpoint;
    }
    if (step.next !== null) {
      plan = step.next;
      firstOfPass = false;
    } else if (resuming) {
      resuming = false;
      firstOfPass = true;
      paginator = s.paginator();
      plan = paginator.first(passStart(s, watermark));
    } else {
      return last;
    }
  }
}

/**
 * Reads the deleted-records feed from where the last run left it, one page of tombstones at a
 * time; each page's checkpoint keeps the list passes' part as `last` left it.
 */
async function* readDeletedFeed(
  s: Settings,
  feed: FeedSettings,
  args: SourceArgs,
  last: HttpCheckpoint,
  auth: HttpAuth,
  requester: HttpRequester,
): AsyncGenerator<Page<unknown>> {
  const state: FeedState = last.deletes ?? { position: null, watermark: null };
  const paginator = feed.paginator();
  let watermark = state.watermark;
  let plan =
    state.position !== null
      ? paginator.resume(state.position)
      : paginator.first(
          watermark === null
            ? null
            : {
                cursor: watermark.cursor,
                param: formatCursorText(watermark.cursor, s.format),
                ...(watermark.id !== null ? { afterId: watermark.id } : {}),
              },
        );
  for (;;) {
    const fetched = await fetchPage(s, args, auth, requester, buildUrl(s, plan, feed.base), null, 'GET', {
      records: feed.records,
    });
    if (fetched === 'not-modified') return; // never: no validators are sent
    const step = paginator.next(fetched.page, plan);
    const tombstones: Tombstone[] = [];
    for (const entry of step.records) {
      const deletedAt = scalarText(readPath(entry, feed.deletedAt));
      tombstones.push({ key: entry, deletedAt });
      const id = scalarText(readPath(entry, feed.idField));
      if (deletedAt === null || id === null) continue;
      const tuple = { cursor: deletedAt, id };
      if (watermark === null || compareWatermarks(tuple, watermark) > 0) watermark = tuple;
    }
    const checkpoint: HttpCheckpoint = {
      ...last,
      deletes: { position: withoutSecrets(step.position, auth), watermark },
    };
    if (tombstones.length > 0 || JSON.stringify(checkpoint) !== JSON.stringify(last)) {
      yield { records: [], tombstones, checkpoint: toJson(checkpoint) };
      last = checkpoint;
    }
    if (step.next === null) return;
    plan = step.next;
  }
}

/**
 * A refresh (`syncline refresh`): fetches each key by id; a record found is handed over as is, a
 * 404/410 becomes a tombstone. One page per 100 keys, each with the stored checkpoint unchanged.
 */
async function* readByKeys(
  s: Settings,
  byId: FetchByIdConfig,
  args: SourceArgs,
): AsyncGenerator<Page<unknown>> {
  const { auth, requester } = httpClient(s, args);
  const keyField = keyFields(s.config)[0]!;
  if (args.request.mode !== 'refresh') {
    throw new FatalError(
      `stream "${s.stream}": fetchById serves refresh runs only, not ${args.request.mode}`,
      {
        stream: s.stream,
      },
    );
  }
  const keys = args.request.keys;
  for (let start = 0; start < keys.length; start += 100) {
    const records: unknown[] = [];
    const tombstones: Tombstone[] = [];
    for (const key of keys.slice(start, start + 100)) {
      const path = byId.path.replaceAll('{id}', encodeURIComponent(key));
      const base = apiUrl(s.config, path);
      const url = buildUrl(s, { query: {} }, base);
      const fetched = await fetchPage(s, args, auth, requester, url, null, 'GET', { byId });
      if (fetched === 'not-modified') continue; // never: no validators are sent
      if (fetched.page.status === 404 || fetched.page.status === 410) {
        tombstones.push({ key: { [keyField]: key }, deletedAt: null });
      } else {
        records.push(...fetched.page.records);
      }
    }
    yield { records, tombstones, checkpoint: args.checkpoint };
  }
}

interface Fetched {
  readonly page: PageResponse;
  readonly validators: Validators | null;
}

async function fetchPage(
  s: Settings,
  args: SourceArgs,
  auth: HttpAuth,
  requester: HttpRequester,
  url: URL,
  validators: Validators | null,
  method: 'GET' | 'HEAD',
  /**
   * `records`: where the records are (default: the stream's); `rows`: they are the stream's rows,
   * mapped to records by `record`, `deletedPath` and `fields`. `byId`: the answer is one record
   * (`fields` apply), and a 404 or 410 is an answer too (a page with that status and no records:
   * the record is gone).
   */
  extra: { records?: string | undefined; rows?: boolean; byId?: FetchByIdConfig } = {
    records: s.config.records,
    rows: true,
  },
): Promise<Fetched | 'not-modified'> {
  const shownUrl = () => scrubSecrets(redactQuery(url), auth.secrets());
  const what = `${method} ${shownUrl()}`;
  try {
    return await args.attempt(
      async (_n, attempt) => {
        let refreshed = false;
        for (;;) {
          const headers: Record<string, string> = { accept: 'application/json', ...s.config.request.headers };
          if (validators?.etag) headers['if-none-match'] = validators.etag;
          if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
          const request = { url: new URL(url), headers };
          await auth.apply(request, args.signal);
          // Counted before it is sent: failed and retried requests are API calls too.
          args.report({ apiCalls: 1 });
          const raw = await requester.send({
            method,
            url: request.url,
            headers,
            signal: args.signal,
            what,
            stream: s.stream,
            attempt,
            ...(extra.byId ? { goneIsAnswer: true } : {}),
          });
          args.report({ bytes: raw.bytes });
          const budget = parseRateBudget(raw.headers);
          if (budget) args.observeLimit(s.base.host, budget);
          if (raw.status === 401) {
            if (!refreshed && (await auth.refresh(args.signal))) {
              refreshed = true;
              continue;
            }
            throw new FatalError(
              `stream "${s.stream}": ${what} answered 401 Unauthorized${refreshed ? ' after refreshing the token' : ''}; ` +
                'check the credentials in the environment variables the auth config names',
              { stream: s.stream },
            );
          }
          if (raw.status === 304) return 'not-modified' as const;
          if (extra.byId && (raw.status === 404 || raw.status === 410)) {
            return { page: emptyPage(raw, url), validators: null };
          }
          if (method === 'HEAD') return { page: emptyPage(raw, url), validators: null };
          let body: unknown;
          try {
            body = parseJsonBody(raw, what, s.stream);
          } catch (error) {
            const decision = !(error instanceof TransientError)
              ? 'fatal'
              : attempt.last
                ? 'giving up'
                : 'retrying';
            args.log.debug(
              { stream: s.stream, method, requestUrl: shownUrl(), status: raw.status, decision },
              `${what}: the answer is not JSON; ${decision}`,
            );
            throw error;
          }
          const where = `stream "${s.stream}": ${what}`;
          const selected = extra.byId
            ? [s.mapper.mapRecord(extra.byId.record ? readPath(body, extra.byId.record) : body)]
            : selectRecords(body, extra.records, where);
          const { records, deleted } = extra.rows
            ? s.mapper.mapRows(selected, where)
            : { records: selected, deleted: undefined };
          const etag = raw.headers['etag'];
          const lastModified = raw.headers['last-modified'];
          return {
            page: {
              status: raw.status,
              headers: raw.headers,
              body,
              records,
              ...(deleted !== undefined && deleted.size > 0 ? { deleted } : {}),
              url: shownUrl(),
            },
            validators:
              etag || lastModified
                ? { url: url.href, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) }
                : null,
          };
        }
      },
      { what, limiter: { key: s.base.host, ...(s.config.rateLimit ? { rate: s.config.rateLimit } : {}) } },
    );
  } catch (error) {
    // A server may echo a credential in an error body: no message leaves with a secret in it.
    if (error instanceof SyncError) error.message = scrubSecrets(error.message, auth.secrets());
    throw error;
  }
}

function emptyPage(raw: { status: number; headers: Record<string, string> }, url: URL): PageResponse {
  return { status: raw.status, headers: raw.headers, body: null, records: [], url: redactQuery(url) };
}

/**
 * A checkpoint part with every secret in use replaced by `***`: an API that copies an `api_key`
 * query parameter into its `Link` URLs would otherwise put the key into the store. Auth sets the
 * parameter again on every request, so the stored URL still works.
 */
function withoutSecrets<T>(value: T, auth: HttpAuth): T {
  if (value === null) return value;
  const text = JSON.stringify(value);
  const scrubbed = scrubSecrets(text, auth.secrets());
  return scrubbed === text ? value : (JSON.parse(scrubbed) as T);
}

function buildUrl(s: Settings, plan: RequestPlan, base: URL = s.base): URL {
  if (plan.url) {
    const next = new URL(plan.url, base);
    // Never send this stream's credentials to a host its config did not name.
    if (next.origin !== s.base.origin) {
      throw new FatalError(
        `stream "${s.stream}": the API's next-page URL points to ${next.origin}, not ${s.base.origin}; ` +
          'refusing to send credentials there',
        { stream: s.stream },
      );
    }
    return next;
  }
  const url = new URL(base);
  for (const [name, value] of Object.entries(s.config.request.query ?? {}))
    url.searchParams.set(name, String(value));
  for (const [name, value] of Object.entries(plan.query)) url.searchParams.set(name, value);
  return url;
}

/** The URL as shown in messages: credentials in the userinfo removed. */
function redactQuery(url: URL): string {
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return shown.toString();
}

/** Where a range read starts: at the range's start, inclusive, no lookback. */
function rangeStart(s: Settings, range: TimeRange): PassStart {
  if (!s.incremental) {
    throw new FatalError(
      `stream "${s.stream}": pagination "${s.config.pagination.type}" cannot start at a time, so it cannot backfill ` +
        'a range; use `syncline reconcile` to read it all again',
      { stream: s.stream },
    );
  }
  return { cursor: range.from, param: formatCursorText(range.from, s.format) };
}

/** Where a new pass starts: the watermark minus the lookback, the configured start, or the beginning. */
function passStart(s: Settings, watermark: Watermark | null): PassStart | null {
  if (s.watermark === null) return null;
  const from = s.watermark.start(watermark);
  if (from === null) {
    return s.start === null ? null : { cursor: s.start, param: formatCursorText(s.start, s.format) };
  }
  return {
    cursor: from.cursor,
    param: formatCursorText(from.cursor, s.format),
    ...(from.id !== null ? { afterId: from.id } : {}),
  };
}
