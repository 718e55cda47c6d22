import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import copyStreams from 'pg-copy-streams';

/**
 * Bulk loading with `COPY ... FROM STDIN` in PostgreSQL's text format: one row per line, fields
 * separated by tabs, `\N` for NULL, and backslash escapes for backslash, tab, newline and carriage
 * return. Everything else (quotes, unicode) passes through as UTF-8, so JSON text round-trips exactly.
 */

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const TO_ESCAPE = /[\\\t\n\r]/g;

/** One field in COPY text format. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  return NEEDS_ESCAPE.test(value) ? value.replace(TO_ESCAPE, (c) => ESCAPES[c]!) : value;
}

/** Rows (arrays of fields, `null` for NULL) as one COPY text-format payload. */
export function copyText(rows: Iterable<readonly (string | null)[]>): string {
  let out = '';
  for (const row of rows) {
    out += row.map(copyField).join('\t');
    out += '\n';
  }
  return out;
}

/**
 * Runs `copy` (a `COPY ... FROM STDIN` statement) on `client` (inside the caller's transaction) with
 * `payload` (COPY text). Rejects with the server's error (e.g. a duplicate key), after which the
 * transaction must be rolled back.
 */
export async function copyPayload(client: PoolClient, copy: string, payload: string): Promise<number> {
  const stream = client.query(copyStreams.from(copy));
  const done = finished(stream);
  stream.end(payload, 'utf8');
  await done;
  return stream.rowCount;
}
