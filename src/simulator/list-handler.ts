import type { Dataset } from './dataset.ts';
import {
  type CursorToken,
  decodeCursor,
  encodeCursor,
  parseChoice,
  parseCount,
  parseLimit,
  parseTime,
} from './query-params.ts';
import type { IndexCursor } from './record-index.ts';
import { isoMs, type RecordState } from './record-kind.ts';

/** The pagination styles of list endpoints, chosen with `?style=`. Default `cursor`. */
export const LIST_STYLES = ['cursor', 'link', 'keyset', 'keyset-gte', 'window', 'page', 'offset'] as const;
export type ListStyle = (typeof LIST_STYLES)[number];

/** Filter parameters kept inside cursor tokens. */
const FILTER_PARAMS = ['symbol', 'interval'];

export interface ListLimits {
  defaultPageSize: number;
  maxPageSize: number;
}

/** A list answer before faults and validators: the body (ASCII JSON bytes) and the style's own headers. */
export interface ListAnswer {
  style: ListStyle;
  body: Buffer;
  headers: Record<string, string>;
  /** The request for the following page, for cursor, link and keyset styles when there is one. */
  next?: URL;
}

type Filter = ((index: number, state: RecordState) => boolean) | null;

/**
 * Answers `GET /v1/<dataset>?style=...`. Incremental styles (cursor, link, keyset, keyset-gte,
 * window) order by `(updated_at, id)` and locate their start by value, so they stay correct while
 * the data changes; `page` and `offset` locate it by rank, so they shift under inserts, deletes and
 * updates exactly as real ones do.
 */
export function handleList(dataset: Dataset, url: URL, limits: ListLimits): ListAnswer {
  const query = url.searchParams;
  const style = parseChoice(query, 'style', LIST_STYLES, 'cursor');
  const headers: Record<string, string> = { 'X-Total-Count': String(dataset.servedCount) };
  const limit = parseLimit(query, ['limit', 'per_page'], limits.defaultPageSize, limits.maxPageSize);
  const index = dataset.index;

  if (style === 'page' || style === 'offset') {
    const descending =
      parseChoice(query, 'sort', ['updated_at', '-updated_at'], 'updated_at') === '-updated_at';
    const page = Math.max(1, parseCount(query, 'page', 1));
    const start = style === 'page' ? (page - 1) * limit : parseCount(query, 'offset', 0);
    const total = index.size();
    headers['X-Total-Count'] = String(total);
    const indexes = byRank(dataset, start, limit, total, descending);
    const hasMore = start + indexes.length < total;
    const meta =
      style === 'page'
        ? `"page":${page},"per_page":${limit},"total":${total},"total_pages":${Math.ceil(total / limit)}`
        : `"offset":${start},"limit":${limit},"total":${total}`;
    return { style, headers, body: wrap(dataset, indexes, `,"has_more":${hasMore},${meta}`) };
  }

  if (style === 'cursor' || style === 'link') {
    const raw = query.get('cursor');
    let token: CursorToken;
    if (raw !== null && raw !== '') token = decodeCursor(raw, dataset.name);
    else {
      const filters: Record<string, string> = {};
      for (const name of FILTER_PARAMS) {
        const value = query.get(name);
        if (value !== null) filters[name] = value;
      }
      const since = parseTime(query, 'updated_since', Number.NaN);
      // "After (since, '')" is "updated_at >= since": every id sorts after the empty string.
      token = { dataset: dataset.name, ms: Number.isNaN(since) ? null : since, id: '', filters };
    }
    const filter = dataset.kind.filter(new URLSearchParams(token.filters));
    const at = index.seek(token.ms ?? Number.NEGATIVE_INFINITY, token.id === '' ? null : token.id, true);
    const { indexes, more } = scan(dataset, at, limit, filter, Number.POSITIVE_INFINITY, 0);
    const last = indexes[indexes.length - 1];
    const position =
      last === undefined ? token : { ...token, ms: dataset.stateOf(last).updatedMs, id: dataset.idOf(last) };
    const nextCursor = encodeCursor(position);
    // The token carries the position and the filters, so the next request drops them.
    const nextUrl = new URL(url.href);
    for (const name of [...nextUrl.searchParams.keys()]) {
      if (name === 'updated_since' || FILTER_PARAMS.includes(name)) nextUrl.searchParams.delete(name);
    }
    nextUrl.searchParams.set('cursor', nextCursor);
    const next = more ? nextUrl : undefined;
    if (style === 'link') {
      if (more) headers.Link = `<${nextUrl.href}>; rel="next"`;
      return { style, headers, body: writePage(dataset, indexes, '[', ']'), next };
    }
    const body = wrap(dataset, indexes, `,"has_more":${more},"next_cursor":"${nextCursor}"`);
    return { style, headers, body, next };
  }

  const filter = dataset.kind.filter(query);
  if (style === 'keyset') {
    const since = parseTime(query, 'updated_since', Number.NEGATIVE_INFINITY);
    const afterId = query.get('after_id');
    const at = index.seek(since, afterId === '' ? null : afterId, true);
    const { indexes, more } = scan(dataset, at, limit, filter, Number.POSITIVE_INFINITY, 0);
    const last = indexes[indexes.length - 1];
    let next: URL | undefined;
    if (more && last !== undefined) {
      next = new URL(url.href);
      next.searchParams.set('updated_since', isoMs(dataset.stateOf(last).updatedMs));
      next.searchParams.set('after_id', dataset.idOf(last));
    }
    return { style, headers, body: wrap(dataset, indexes, `,"has_more":${more}`), next };
  }
  // keyset-gte and window: a start by value (>=), then an offset counted inside the result.
  const from = parseTime(query, style === 'window' ? 'from' : 'updated_since', Number.NEGATIVE_INFINITY);
  const to = style === 'window' ? parseTime(query, 'to', Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
  const offset = parseCount(query, 'offset', 0);
  const { indexes, more } = scan(dataset, index.seek(from, null, true), limit, filter, to, offset);
  return { style, headers, body: wrap(dataset, indexes, `,"has_more":${more}`) };
}

/**
 * `<prefix><record>,<record>...<suffix>` written straight into bytes. Records are ASCII JSON
 * text, so a latin1 write is a plain copy; joining the strings instead would first flatten every
 * record's concatenation tree, which costs as much again as generating the records.
 */
function writePage(dataset: Dataset, indexes: readonly number[], prefix: string, suffix: string): Buffer {
  let buf = Buffer.allocUnsafe(indexes.length * 384 + prefix.length + suffix.length + 64);
  let at = buf.write(prefix, 0, 'latin1');
  for (let n = 0; n < indexes.length; n++) {
    const text = dataset.json(indexes[n]!);
    if (at + text.length + suffix.length + 1 > buf.length) {
      const bigger = Buffer.allocUnsafe(2 * (at + text.length + suffix.length + 1));
      buf.copy(bigger, 0, 0, at);
      buf = bigger;
    }
    if (n > 0) buf[at++] = 0x2c; // ','
    at += buf.write(text, at, 'latin1');
  }
  at += buf.write(suffix, at, 'latin1');
  return buf.subarray(0, at);
}

function wrap(dataset: Dataset, indexes: readonly number[], extra: string): Buffer {
  return writePage(dataset, indexes, '{"data":[', ']' + extra + '}');
}

/**
 * Reads up to `limit` records from `at`, skipping `skip` matching ones first and stopping before
 * `updated_at >= stopMs`. `more` says whether another matching record follows.
 */
function scan(
  dataset: Dataset,
  at: IndexCursor,
  limit: number,
  filter: Filter,
  stopMs: number,
  skip: number,
): { indexes: number[]; more: boolean } {
  const indexes: number[] = [];
  let skipped = 0;
  for (;;) {
    const i = dataset.index.next(at);
    if (i < 0) return { indexes, more: false };
    const state = dataset.stateOf(i);
    if (state.updatedMs >= stopMs) return { indexes, more: false };
    if (filter !== null && !filter(i, state)) continue;
    if (skipped < skip) {
      skipped++;
      continue;
    }
    if (indexes.length === limit) return { indexes, more: true };
    indexes.push(i);
  }
}

/** Records at ranks [start, start + limit) of the ascending or descending order. */
function byRank(
  dataset: Dataset,
  start: number,
  limit: number,
  total: number,
  descending: boolean,
): number[] {
  if (start >= total) return [];
  const count = Math.min(limit, total - start);
  const first = descending ? total - start - count : start;
  const at = dataset.index.select(first);
  const indexes: number[] = [];
  for (let n = 0; n < count; n++) {
    const i = dataset.index.next(at);
    if (i < 0) break;
    indexes.push(i);
  }
  return descending ? indexes.reverse() : indexes;
}
