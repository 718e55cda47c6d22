/**
 * Small HTTP helpers for the simulator's own tests: a raw GET that reports resets and cut bodies
 * instead of hiding them, and reference clients (correct and naive) that walk the list endpoints.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach } from 'vitest';
import { type SimulatorOptions, type SimulatorServer, startSimulator } from './index.ts';

/**
 * For a test file: a `start` that launches a simulator and closes every one it launched after each
 * test. Call it at the top level of the file.
 */
export function simulatorsForEachTest(): (options?: SimulatorOptions) => Promise<SimulatorServer> {
  const running: SimulatorServer[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((sim) => sim.close()));
  });
  return async (options) => {
    const sim = await startSimulator(options);
    running.push(sim);
    return sim;
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Rejects with the socket error (ECONNRESET, 'socket hang up', or 'timeout'). */
export function rawGet(
  url: string,
  options: { headers?: Record<string, string>; timeoutMs?: number; method?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('aborted')));
        res.on('end', () => {
          if (!res.complete) reject(new Error('aborted'));
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error('timeout')));
    }
    req.end();
  });
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await rawGet(url, { headers });
  if (res.status !== 200) throw new Error(`GET ${url} -> ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}

export interface ListedRecord {
  id: string;
  updated_at: string;
  version: number;
  deleted?: boolean;
  [field: string]: unknown;
}

interface ListBody {
  data: ListedRecord[];
  has_more: boolean;
  next_cursor?: string;
}

/** The correct keyset walk: `(updated_at, id) > watermark`, until `has_more` is false. */
export async function walkKeyset(
  base: string,
  dataset: string,
  limit: number,
  from?: { updatedAt: string; id: string },
  onPage?: (page: ListedRecord[]) => void,
): Promise<ListedRecord[]> {
  const all: ListedRecord[] = [];
  let watermark = from;
  for (;;) {
    const q = watermark ? `&updated_since=${watermark.updatedAt}&after_id=${watermark.id}` : '';
    const body = await getJson<ListBody>(`${base}/v1/${dataset}?style=keyset&limit=${limit}${q}`);
    all.push(...body.data);
    onPage?.(body.data);
    const last = body.data[body.data.length - 1];
    if (last) watermark = { updatedAt: last.updated_at, id: last.id };
    if (!body.has_more) return all;
  }
}

/** The cursor walk: follow `next_cursor` until `has_more` is false. */
export async function walkCursor(base: string, dataset: string, limit: number): Promise<ListedRecord[]> {
  const all: ListedRecord[] = [];
  let cursor = '';
  for (;;) {
    const body = await getJson<ListBody>(
      `${base}/v1/${dataset}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    all.push(...body.data);
    if (!body.has_more) return all;
    cursor = body.next_cursor!;
  }
}

/**
 * The naive page-number client: asks for page 1, 2, 3... until a short page, calling `between`
 * after each page (where the source changes underneath it).
 */
export async function walkPagesNaively(
  base: string,
  dataset: string,
  perPage: number,
  between: () => void,
): Promise<ListedRecord[]> {
  const all: ListedRecord[] = [];
  for (let page = 1; ; page++) {
    const body = await getJson<ListBody>(`${base}/v1/${dataset}?style=page&page=${page}&per_page=${perPage}`);
    all.push(...body.data);
    if (!body.has_more) return all;
    between();
  }
}
