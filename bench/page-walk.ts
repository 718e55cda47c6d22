/**
 * The plainest client of the simulator's Stripe-like cursor pagination: Node's fetch over loopback,
 * `JSON.parse` of each page, follow `next_cursor` while `has_more`. The raw-fetch limit, the
 * hand-written baseline and the lookback-window count all read through it.
 */

/** A customer as the simulator serves it (the fields the bench reads). */
export interface Customer {
  readonly id: string;
  readonly updated_at: string;
  readonly version: number;
  readonly [field: string]: unknown;
}

interface CursorPage {
  readonly data: Customer[];
  readonly has_more: boolean;
  readonly next_cursor?: string;
}

export interface FetchedPage {
  readonly records: Customer[];
  /** The token to resume after this page (what a client would store as its checkpoint). */
  readonly cursor: string | null;
  /** The body as received (the simulator's pages are ASCII: its length is its size in bytes). */
  readonly body: string;
  /** Time spent in this request: fetch, body, JSON.parse. */
  readonly ms: number;
}

export const PAGE_SIZE = 1000;

/**
 * Pages of `/v1/customers` in `(updated_at, id)` order, from `updatedSince` (inclusive) or the
 * beginning, until the source has no more or `maxRecords` were read (the last page is cut there).
 */
export async function* walkCustomers(
  baseUrl: string,
  options: { maxRecords?: number; updatedSince?: string } = {},
): AsyncGenerator<FetchedPage> {
  const first = new URL('/v1/customers', baseUrl);
  first.searchParams.set('style', 'cursor');
  first.searchParams.set('limit', String(PAGE_SIZE));
  if (options.updatedSince !== undefined) first.searchParams.set('updated_since', options.updatedSince);
  let left = options.maxRecords ?? Number.POSITIVE_INFINITY;
  let url = first.toString();
  while (left > 0) {
    const began = performance.now();
    const res = await fetch(url);
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
    const page = JSON.parse(text) as CursorPage;
    const ms = performance.now() - began;
    const records = page.data.length > left ? page.data.slice(0, left) : page.data;
    left -= records.length;
    yield { records, cursor: page.next_cursor ?? null, body: text, ms };
    if (!page.has_more || page.next_cursor === undefined || page.data.length === 0) return;
    const next = new URL(first);
    next.searchParams.delete('updated_since');
    next.searchParams.set('cursor', page.next_cursor);
    url = next.toString();
  }
}

/** The newest `updated_at` at the source (the watermark a complete pass ends at). */
export async function newestUpdatedAt(baseUrl: string): Promise<string> {
  const url = new URL('/v1/customers', baseUrl);
  url.searchParams.set('style', 'page');
  url.searchParams.set('sort', '-updated_at');
  url.searchParams.set('per_page', '1');
  const res = await fetch(url);
  const body = (await res.json()) as { data: Customer[] };
  const newest = body.data[0];
  if (!res.ok || newest === undefined) throw new Error(`GET ${url}: ${res.status}, no newest record`);
  return newest.updated_at;
}

/** Records with `updated_at >= since`: what a pass starting there reads. */
export async function countSince(baseUrl: string, since: string): Promise<number> {
  let n = 0;
  for await (const page of walkCustomers(baseUrl, { updatedSince: since })) n += page.records.length;
  return n;
}
