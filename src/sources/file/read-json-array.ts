import { createReadStream } from 'node:fs';
import { FatalError } from '../../core/errors.ts';
import { CHUNK_BYTES, type FileItem, jsonItem, type ReadRange } from './file-item.ts';

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * The records of a file holding one JSON array of objects, element by element, without holding
 * the array: a small scanner follows strings, escapes and nesting over the chunks and cuts each
 * top-level element out; each is parsed alone. `range.start` > 0 resumes just after an element.
 * An element that is not an object, or not JSON, is a reject; an element cut off by the end of the
 * file is held back (or a reject when `range.final`). A file that is not an array fails the run.
 */
export async function* readJsonArray(range: ReadRange): AsyncGenerator<FileItem> {
  if (range.start >= range.size) return;
  const input = createReadStream(range.path, {
    start: range.start,
    end: range.size - 1,
    highWaterMark: CHUNK_BYTES,
  });
  // before: expecting `[`; between: inside the array, between elements; element: inside one; after: past `]`.
  let state: 'before' | 'between' | 'element' | 'after' = range.start === 0 ? 'before' : 'between';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let elementStart = 0;
  let elementLine = 0;
  let offset = range.start;
  let line = range.line;
  const finish = (chunk: Buffer, from: number, to: number, endOffset: number): FileItem => {
    parts.push(chunk.subarray(from, to));
    const text = Buffer.concat(parts).toString(range.encoding);
    parts = [];
    state = 'between';
    return elementItem(range, text, endOffset, elementLine, line);
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      range.onChunk(chunk);
      const items: FileItem[] = [];
      let from = 0;
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]!;
        if (state === 'element') {
          if (inString) {
            if (escaped) escaped = false;
            else if (b === BACKSLASH) escaped = true;
            else if (b === QUOTE) inString = false;
          } else if (b === QUOTE) inString = true;
          else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
          else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
            if (depth === 0) {
              // `]` closing the array after a bare value: the value ends before it.
              items.push(finish(chunk, from, i, offset + i));
              state = 'after';
            } else if (--depth === 0) items.push(finish(chunk, from, i + 1, offset + i + 1));
          } else if (depth === 0 && (b === COMMA || isSpace(b)))
            items.push(finish(chunk, from, i, offset + i));
          if (b === NEWLINE) line++;
          continue;
        }
        if (b === NEWLINE) line++;
        if (isSpace(b)) continue;
        if (state === 'before') {
          if (b !== OPEN_BRACKET) throw notAnArray(range, line);
          state = 'between';
        } else if (state === 'between') {
          if (b === COMMA) continue;
          if (b === CLOSE_BRACKET) {
            state = 'after';
            continue;
          }
          state = 'element';
          elementStart = offset + i;
          elementLine = line + 1;
          from = i;
          depth = b === OPEN_BRACE || b === OPEN_BRACKET ? 1 : 0;
          inString = b === QUOTE;
          escaped = false;
        } else {
          throw new FatalError(`${range.shown} line ${line + 1}: text after the end of the JSON array`);
        }
      }
      if (state === 'element') {
        parts.push(chunk.subarray(from));
      }
      offset += chunk.length;
      yield* items;
    }
  } finally {
    input.destroy();
  }
  if (state === 'element') {
    // Cut off by the end of the file: a bare value may end there; anything else was cut short.
    if (depth === 0 && !inString) {
      const text = Buffer.concat(parts).toString(range.encoding);
      yield elementItem(range, text, range.size, elementLine, line);
    } else if (range.final) {
      yield {
        kind: 'reject',
        reason: `${range.shown} line ${elementLine}: the file ends inside an element of the array`,
        payload: Buffer.concat(parts)
          .toString(range.encoding)
          .slice(0, 64 * 1024),
        end: range.size,
        line,
      };
    } else {
      yield { kind: 'tail', at: elementStart, line: elementLine - 1 };
    }
  }
}

function elementItem(range: ReadRange, text: string, end: number, startLine: number, line: number): FileItem {
  return jsonItem(text, `${range.shown} line ${startLine}: an element`, end, line);
}

function notAnArray(range: ReadRange, line: number): FatalError {
  return new FatalError(
    `${range.shown} line ${line + 1}: not a JSON array (format: json reads one array of objects; use ndjson for one object a line)`,
  );
}
