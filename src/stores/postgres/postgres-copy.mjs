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
 * A COPY payload written straight into one buffer that is kept and reused from payload to payload.
 * Building the payload as one string and then encoding it cost three copies of it, two of them into
 * memory fresh from the OS (V8 flattens a large string into new pages, and `Buffer.from` takes new
 * ones); on a VM where touching a fresh page is a page fault, that was ~6 ms of a 5,000-row commit.
 */
export class CopyBuffer {
  /** @type {Buffer} */
  #bytes;
  #length = 0;
  #initialBytes;
  #keepBytes;

  /**
   * `initialBytes`: the buffer's first size. `keepBytes`: the most it keeps between payloads; one
   * that grew past it (a page of large records) is dropped at the next `reset`, so a connection does
   * not hold on to its largest payload for its life.
   */
  constructor(initialBytes = 1 << 20, keepBytes = 16 << 20) {
    this.#initialBytes = initialBytes;
    this.#keepBytes = keepBytes;
    this.#bytes = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** Starts a new payload; what `payload()` returned before may be overwritten from now on. */
  reset() {
    this.#length = 0;
    if (this.#bytes.length > this.#keepBytes) this.#bytes = Buffer.allocUnsafeSlow(this.#initialBytes);
  }

  /**
   * Appends text that is already in COPY form (a row's separators, fields escaped by `copyField`).
   * @param {string} text
   */
  raw(text) {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = this.#length + text.length * 3;
    if (most > this.#bytes.length) this.#grow(most);
    this.#length += this.#bytes.write(text, this.#length);
  }

  /**
   * Appends one field in COPY form (`copyField`).
   * @param {string | null} value
   */
  field(value) {
    this.raw(copyField(value));
  }

  /** The payload so far: a view of the buffer, valid until the next `reset`. */
  payload() {
    return this.#bytes.subarray(0, this.#length);
  }

  /** @param {number} bytes */
  #grow(bytes) {
    let size = this.#bytes.length * 2;
    while (size < bytes) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.#bytes.copy(bigger, 0, 0, this.#length);
    this.#bytes = bigger;
  }
}

/**
 * Runs `copy` (a `COPY ... FROM STDIN` statement) on `client`, inside the caller's transaction,
 * with `payload` (COPY text, e.g. a `CopyBuffer`'s). Rejects with the server's error (e.g. a duplicate key), after which
 * the transaction must be rolled back.
 * @param {import('pg').ClientBase} client
 * @param {string} copy
 * @param {Buffer} payload the COPY text's UTF-8 bytes
 * @returns {Promise<number>} the rows copied
 */
export async function copyPayload(client, copy, payload) {
  const stream = client.query(copyStreams.from(copy));
  const done = finished(stream);
  stream.end(payload);
  await done;
  return stream.rowCount;
}
