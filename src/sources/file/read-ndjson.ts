import { createReadStream } from 'node:fs';
import { CHUNK_BYTES, type FileItem, jsonItem, type ReadRange } from './file-item.ts';

const NEWLINE = 0x0a;

/**
 * The records of an NDJSON file (one JSON object a line), from `range.start` on. Blank lines are
 * skipped; a line that is not JSON, or not an object, is a reject naming its line. Lines are split
 * on bytes, so offsets are exact whatever the text holds.
 */
export async function* readNdjson(range: ReadRange): AsyncGenerator<FileItem> {
  if (range.start >= range.size) return;
  const input = createReadStream(range.path, {
    start: range.start,
    end: range.size - 1,
    highWaterMark: CHUNK_BYTES,
  });
  let pending: Buffer[] = [];
  let offset = range.start;
  let line = range.line;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      range.onChunk(chunk);
      let from = 0;
      for (;;) {
        const at = chunk.indexOf(NEWLINE, from);
        if (at === -1) break;
        const piece = chunk.subarray(from, at);
        const bytes = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        offset += bytes.length + 1;
        line++;
        from = at + 1;
        const item = lineItem(range, bytes, offset, line);
        if (item !== null) yield item;
      }
      if (from < chunk.length) pending.push(chunk.subarray(from));
    }
  } finally {
    input.destroy();
  }
  if (pending.length === 0) return;
  // The last line has no line end: a record when it parses (many writers end without one), held
  // back when it does not (the writer may still be at it).
  const bytes = Buffer.concat(pending);
  const item = lineItem(range, bytes, offset + bytes.length, line + 1);
  if (item === null || item.kind === 'record') {
    if (item !== null) yield item;
    return;
  }
  yield range.final ? item : { kind: 'tail', at: offset, line };
}

function lineItem(range: ReadRange, bytes: Buffer, end: number, line: number): FileItem | null {
  const text = bytes.toString(range.encoding);
  if (text.trim() === '') return null;
  return jsonItem(text, `${range.shown} line ${line}`, end, line);
}
