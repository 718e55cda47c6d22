import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { type CsvError, parse } from 'csv-parse';
import type { ColumnType } from '../../core/view-columns.ts';
import { CHUNK_BYTES, type FileItem, type ReadRange } from './file-item.ts';

/** How CSV rows become records. */
export interface CsvSettings {
  readonly delimiter: string;
  readonly quote: string;
  /** The field names when the file has no header row; null: its first row names them. */
  readonly fields: readonly string[] | null;
  /** Declared types of fields (the stream's `columns`); other fields stay text. */
  readonly types: Readonly<Record<string, ColumnType>>;
}

/** A range of a CSV file, and the field names read from its header by an earlier run (resuming). */
export interface CsvRange extends ReadRange {
  readonly header: readonly string[] | null;
  /** Called with the header row when this read is the one that reads it, and where the row ends. */
  readonly onHeader: (header: readonly string[], end: number, line: number) => void;
}

/** The most of a held-back or dead-lettered last line kept as its payload. */
const TAIL_PAYLOAD_BYTES = 64 * 1024;

/**
 * The records of a CSV file from `range.start` on: fields named by the header row (or
 * `settings.fields`), values converted by `settings.types`, an empty cell null. A row whose field
 * count differs from the header's is a reject naming its line; so is what the parser cannot read.
 * A last line without a line end is a record when it parses whole and has every field, and held
 * back otherwise (see `ReadRange.final`).
 */
export async function* readCsv(range: CsvRange, settings: CsvSettings): AsyncGenerator<FileItem> {
  if (range.start >= range.size) return;
  let header = settings.fields ?? range.header;
  const skipped: { reason: string; bytes: number; line: number }[] = [];
  let unclosed = false;
  const parser = parse({
    delimiter: settings.delimiter,
    quote: settings.quote,
    info: true,
    bom: range.start === 0,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    encoding: range.encoding,
    on_skip: (error: CsvError | undefined) => {
      if (error === undefined) return;
      if (error.code === 'CSV_QUOTE_NOT_CLOSED') unclosed = true;
      else {
        const at = error as unknown as { bytes?: number; lines?: number };
        skipped.push({ reason: error.message, bytes: at.bytes ?? 0, line: range.line + (at.lines ?? 0) });
      }
    },
  });
  const input = createReadStream(range.path, {
    start: range.start,
    end: range.size - 1,
    highWaterMark: CHUNK_BYTES,
  });
  let lastByte = -1;
  input.on('data', (chunk) => {
    const bytes = chunk as Buffer;
    range.onChunk(bytes);
    lastByte = bytes[bytes.length - 1] ?? lastByte;
  });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let end = range.start;
  let line = range.line;
  const rejectOf = (s: (typeof skipped)[number]): FileItem => ({
    kind: 'reject',
    reason: `${range.shown} line ${s.line}: ${s.reason}`,
    payload: null,
    end,
    line,
  });
  try {
    for await (const row of parser as AsyncIterable<{
      record: string[];
      info: { bytes: number; lines: number };
    }>) {
      const rowEnd = range.start + row.info.bytes;
      const rowLine = range.line + row.info.lines;
      while (skipped.length > 0 && skipped[0]!.bytes + range.start <= rowEnd)
        yield rejectOf(skipped.shift()!);
      if (header === null) {
        header = row.record.map((name) => name.trim());
        range.onHeader(header, rowEnd, rowLine);
        end = rowEnd;
        line = rowLine;
        continue;
      }
      const fields = row.record;
      const unterminated = rowEnd >= range.size && lastByte !== 0x0a && lastByte !== 0x0d;
      if (fields.length !== header.length) {
        if (unterminated && !range.final) {
          yield { kind: 'tail', at: end, line };
          return;
        }
        yield {
          kind: 'reject',
          reason: `${range.shown} line ${rowLine}: ${fields.length} fields where the header has ${header.length}`,
          payload: fields,
          end: rowEnd,
          line: rowLine,
        };
      } else {
        yield {
          kind: 'record',
          record: recordOf(header, fields, settings.types),
          end: rowEnd,
          line: rowLine,
        };
      }
      end = rowEnd;
      line = rowLine;
    }
  } finally {
    input.destroy();
    parser.destroy();
  }
  for (const s of skipped) yield rejectOf(s);
  if (unclosed) {
    // A quote opened on the last line and never closed: a line cut short, most likely.
    if (!range.final) {
      yield { kind: 'tail', at: end, line };
      return;
    }
    yield {
      kind: 'reject',
      reason: `${range.shown} line ${line + 1}: a quote is never closed (the file ends inside a quoted field)`,
      payload: await readText(range, end),
      end: range.size,
      line: line + 1,
    };
  }
}

/** The text from `from` to the end of the range, at most `TAIL_PAYLOAD_BYTES`. */
async function readText(range: ReadRange, from: number): Promise<string> {
  const length = Math.min(TAIL_PAYLOAD_BYTES, Math.max(0, range.size - from));
  const handle = await open(range.path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, from);
    return buffer.subarray(0, bytesRead).toString(range.encoding);
  } finally {
    await handle.close();
  }
}

/** A row as a record: the header's names, the declared types, empty cells null. */
function recordOf(
  header: readonly string[],
  fields: readonly string[],
  types: Readonly<Record<string, ColumnType>>,
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!;
    const text = fields[i]!;
    const type = types[name];
    record[name] = text === '' ? null : type === undefined ? text : convert(type, text);
  }
  return record;
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);

/**
 * A cell as its declared type: `integer` and `numeric` become numbers when they are numbers that
 * survive the trip (an integer past 2^53 or a decimal with more digits than a double keeps its text,
 * which the typed view still reads), `boolean` true/false from true/false, yes/no, 1/0, `json`
 * parsed; what does not convert stays text, for the engine's column check to dead-letter.
 */
export function convert(type: ColumnType, text: string): unknown {
  const trimmed = text.trim();
  switch (type) {
    case 'integer': {
      if (!INTEGER.test(trimmed)) return text;
      const n = Number(trimmed);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 'numeric': {
      if (!DECIMAL.test(trimmed)) return text;
      const n = Number(trimmed);
      return Number.isFinite(n) && String(n) === trimmed ? n : text;
    }
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : text;
    }
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    default:
      return text;
  }
}
