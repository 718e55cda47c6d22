/**
 * The hand-written push, the way an integration script writes it: read the records from the
 * store, then for each one, one request at a time, `GET /crm/contacts?external_id=` and a `POST`
 * (none found) or a `PATCH` (found) with Node's `fetch`. No map, no idempotency key, no retries:
 * the yardstick the destination's rate is compared with. Timed from the first request to the last
 * answer (reading the store is not timed).
 */
import Database from 'better-sqlite3';
import { BenchError } from './bench-error.ts';
import { childArgs, cpuSeconds, progress, runChildMain } from './child-io.ts';

export interface DestinationsBaselineArgs {
  readonly store: string;
  readonly apiUrl: string;
}

export interface DestinationsBaselineResult {
  readonly records: number;
  readonly requests: number;
  readonly wallMs: number;
  readonly cpuSeconds: number;
}

interface Customer {
  readonly id: string;
  readonly email: string;
  readonly name: string;
}

async function call(method: string, url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new BenchError(`${method} ${url}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

async function main(): Promise<DestinationsBaselineResult> {
  const args = childArgs<DestinationsBaselineArgs>();
  const db = new Database(args.store, { readonly: true });
  const customers = db
    .prepare<[], { _data: string }>('SELECT _data FROM customers WHERE _deleted_at IS NULL ORDER BY _key')
    .all()
    .map((row) => JSON.parse(row._data) as Customer);
  db.close();
  const contacts = `${args.apiUrl}/crm/contacts`;
  let requests = 0;
  const cpu = cpuSeconds();
  const began = performance.now();
  for (const c of customers) {
    const payload = { email: c.email, name: c.name, external_id: c.id };
    const found = (await call('GET', `${contacts}?external_id=${encodeURIComponent(c.id)}`)) as {
      results: { id: string }[];
    };
    const existing = found.results[0];
    if (existing === undefined) await call('POST', contacts, payload);
    else await call('PATCH', `${contacts}/${encodeURIComponent(existing.id)}`, payload);
    requests += 2;
  }
  const wallMs = performance.now() - began;
  progress(`${customers.length} records, ${requests} requests in ${(wallMs / 1000).toFixed(2)} s`);
  return { records: customers.length, requests, wallMs, cpuSeconds: cpuSeconds() - cpu };
}

runChildMain(main);
