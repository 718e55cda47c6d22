// @ts-check
/**
 * Bulk loading with `COPY ... FROM STDIN` in PostgreSQL's text format: one row per line, fields
 * separated by tabs, `\N` for NULL, and backslash escapes for backslash, tab, newline and carriage
 * return. Everything else (quotes, unicode) passes through as UTF-8, so JSON text round-trips exactly.
 *
 * Plain JavaScript: the PostgreSQL writer thread (`postgres-writer-worker.mjs`), which gets no
 * TypeScript loader, builds its COPY payloads with it.
 */
import { finished } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';

/** @type {Record<string, string>} */
const ESCAPES = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const TO_ESCAPE = /[\\\t\n\r]/g;

/**
 * One field in COPY text format.
 * @param {string | null} value
 * @returns {string}
 */
export function copyField(value) {
  if (value === null) return '\\N';
  return NEEDS_ESCAPE.test(value)
    ? value.replace(TO_ESCAPE, (c) => /** @type {string} */ (ESCAPES[c]))
    : value;
}

/**
 * Rows (arrays of fields, `null` for NULL) as one COPY text-format payload.
 * @param {Iterable<readonly (string | null)[]>} rows
 * @returns {string}
 */
export function copyText(rows) {
  let out = '';
  for (const row of rows) {
    out += row.map(copyField).join('\t');
    out += '\n';
  }
  return out;
}

/**
 * Runs `copy` (a `COPY ... FROM STDIN` statement) on `client`, inside the caller's transaction,
 * with `payload` (COPY text). Rejects with the server's error (e.g. a duplicate key), after which
 * the transaction must be rolled back.
 * @param {import('pg').ClientBase} client
 * @param {string} copy
 * @param {string} payload
 * @returns {Promise<number>} the rows copied
 */
export async function copyPayload(client, copy, payload) {
  const stream = client.query(copyStreams.from(copy));
  const done = finished(stream);
  stream.end(payload, 'utf8');
  await done;
  return stream.rowCount;
}
